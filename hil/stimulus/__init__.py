"""Electrical stimulus: signal sources stand in for the load cells, the plate's electronics are
under test (cell force → bridge signal → SCPI waveform generators → the plate's stream → aligned).

    bridge.py         newtons ↔ bridge mV/V; the stimulus waveform with its alignment markers
    awg_commands.py   the waveform generators' SCPI command set (the one place for its spelling)
    awg.py            driver: upload, arm, one trigger, over VISA, channels spread over instruments
    align.py          find the markers in the plate's stream: offset and the plate's clock error
"""
