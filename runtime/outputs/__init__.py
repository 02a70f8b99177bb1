"""Where predictions go: JSON/text sinks and the background-sink base (``sinks``), OSC
(``osc``), MQTT with Home Assistant discovery (``mqtt``), the terminal live view
(``live_view``) and valence/arousal -> colour (``color``)."""
