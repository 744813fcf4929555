"""zkperp's command line: ``zkperp`` (click), each command a thin call into the library."""
