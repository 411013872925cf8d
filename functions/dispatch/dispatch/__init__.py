"""The dispatch function's own steps: ask for deliveries, then deliver one."""
