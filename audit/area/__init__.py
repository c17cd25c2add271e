"""The floor-area pipeline: a county's registry read into a GeoDataFrame (:mod:`.registry`, :mod:`.coords`), the
area rule (:mod:`.floor_area`), exports (:mod:`.export`), township areas and the map (:mod:`.townships`,
:mod:`.mapping`), and the demo county (:mod:`.demo`). Never imports the records or the model workshop."""
