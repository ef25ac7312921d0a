"""Reading inputs and writing outputs, and nothing else: photos (:mod:`.image`),
videos (:mod:`.video`: a frame reader and a frame writer), output naming
(:mod:`.paths`) and atomic writes (:mod:`.atomic`). What happens to the
pixels in between is :mod:`fuzzypeople.pipeline`'s job."""
