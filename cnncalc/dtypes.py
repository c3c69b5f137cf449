"""Element types and optimizers the memory estimate knows: the one list every command uses."""

# bytes per element of weights and activations
DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1}
# state tensors per trainable parameter: momentum keeps a velocity, Adam two moments
OPTIMIZER_STATES = {"sgd": 0, "momentum": 1, "adam": 2, "adamw": 2}
DEFAULT_DTYPE = "float32"
DEFAULT_OPTIMIZER = "adam"
