"""The signage pipeline: a photo taken in (:mod:`.intake`), its boards found (:mod:`.detect`) and read
(:mod:`.ocr`), each reading typed (:mod:`.names`) and its style checked (:mod:`.style`), the inventory and
verdict (:mod:`.engine`), annotated photos (:mod:`.annotate`) and batches (:mod:`.batch`). Never imports the
records or the model workshop."""
