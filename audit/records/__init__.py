"""The records: the inspection store (:mod:`.db` database and migrations, :mod:`.photos` photo files,
:mod:`.inspections`, :mod:`.reviews` corrections), who may do what (:mod:`.access`, :mod:`.accounts`), the county
ledger (:mod:`.ledger`), the inspector's review table (:mod:`.review_table`) and the county's uploaded data
(:mod:`.county_data`). Builds on the area and signage pipelines; never imports the model workshop."""
