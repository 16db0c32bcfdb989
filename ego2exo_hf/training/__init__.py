"""Building blocks of the text stage (`text`) and the video stage, called by the top-level scripts."""
