"""Reference programs the console's terminal cost is compared with."""
