"""Hardware in the loop: protocol, emulated plates, drivers, acquisition, analysis and the bench."""
