"""Reading inputs and writing outputs: photos (:mod:`.image`), videos (:mod:`.video`),
output naming (:mod:`.paths`) and atomic writes (:mod:`.atomic`)."""
