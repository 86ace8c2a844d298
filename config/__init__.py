"""leadflow's configuration file: YAML, ``${ENV_VAR}`` interpolation, validation."""
