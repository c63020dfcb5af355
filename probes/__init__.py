"""Protocol probes. This package never imports ``app``: it is the first step
of the data path (probe -> result -> incident -> window -> credit)."""
