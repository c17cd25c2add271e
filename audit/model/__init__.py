"""The model workshop: synthetic facades (:mod:`.synth`), training and evaluation (:mod:`.training`), and reviewed
photos exported as a training set (:mod:`.dataset`). Imported only by the CLI's model commands, never at run time
by the app or the pipelines."""
