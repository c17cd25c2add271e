"""The ``audit`` command (:mod:`.main`) with its user (:mod:`.users`) and model (:mod:`.model`) sub-commands."""
