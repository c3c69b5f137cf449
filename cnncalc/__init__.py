"""cnncalc: plan a CNN's shapes and parameter counts from a YAML spec, no framework needed."""

__version__ = "0.12.0"
