"""Random networks in the Keras convention, for the property test against Keras 3
(tests/test_keras_random.py): chains of 1-D, 2-D and 3-D layers from every Keras family, with a
residual Add or a Concatenate now and then, and values that Keras refuses mixed in (a window
larger than its input, strides with dilation, output_padding >= strides, groups that do not
divide, cropping everything away, a Reshape of the wrong size).

generate(seed) gives the spec's text, and the same network as (Keras class, keyword arguments,
inputs) so that Keras can build it layer by layer without cnncalc. `python tests/random_keras.py
SEED` prints one.
"""

from __future__ import annotations

import json
import random
import sys
from dataclasses import dataclass, field


@dataclass
class KerasNet:
    seed: int
    input_shape: list[int]
    layers: list[tuple[str, dict, list[str], str]] = field(default_factory=list)  # (class, kwargs, inputs, name)

    @property
    def text(self) -> str:
        lines = ["convention: keras", f"input: {json.dumps(self.input_shape)}", "layers:"]
        for class_name, kwargs, inputs, name in self.layers:
            lines.append(f"  - type: {class_name}")
            lines.append(f"    name: {name}")
            if inputs:
                lines.append(f"    inputs: {json.dumps(inputs)}")
            lines += [f"    {key}: {json.dumps(value)}" for key, value in kwargs.items()]
        return "\n".join(lines) + "\n"


class _Generator:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.net: KerasNet | None = None
        self.shapes: dict[str, list[int]] = {}  # what cnncalc should compute, roughly: for choosing layers
        self.previous = "input"

    def add(self, class_name: str, kwargs: dict, shape: list[int] | None, inputs: list[str] | None = None) -> None:
        name = f"l{len(self.net.layers) + 1}"
        self.net.layers.append((class_name, kwargs, inputs or [], name))
        self.shapes[name] = shape
        self.previous = name

    def run(self, seed: int) -> KerasNet:
        rng = self.rng
        rank = rng.choice([1, 2, 2, 2, 3])
        sizes = {1: [rng.randint(8, 64)], 2: [rng.randint(5, 40), rng.randint(5, 40)], 3: [rng.randint(3, 12)] * 3}
        shape = [*sizes[rank], rng.choice([1, 3, 4, 8])]
        self.net = KerasNet(seed, shape)
        self.shapes["input"] = shape
        for _ in range(rng.randint(2, 9)):
            current = self.shapes[self.previous]
            if current is None:
                break  # a refused layer: the spec stops there
            self.layer(current, rank)
        return self.net

    # ---- one layer ----------------------------------------------------------------------------

    def layer(self, shape: list[int], rank: int) -> None:
        rng = self.rng
        if len(shape) == 1:
            kind = rng.choice(["dense", "dense", "dropout", "activation", "batchnorm", "reshape"])
        else:
            kinds = ["conv"] * 5 + ["pool"] * 3 + ["norm"] * 2 + ["pad", "crop", "upsample", "dense", "act", "merge"]
            kinds += ["transpose", "flatten", "global_"] + (["depthwise", "separable"] if rank <= 2 else [])
            kind = rng.choice(kinds)
        getattr(self, kind)(shape, rank)

    def window(self, rank: int) -> dict:
        rng = self.rng
        kwargs = {
            "kernel_size": rng.choice([1, 2, 3, 3, 5])
            if rng.random() < 0.7
            else [rng.randint(1, 4) for _ in range(rank)]
        }
        if rng.random() < 0.5:
            kwargs["strides"] = rng.choice([1, 2, 3])
        padding = rng.choice(["valid", "same"] + (["causal"] if rank == 1 else []))
        if padding != "valid" or rng.random() < 0.3:
            kwargs["padding"] = padding
        if rng.random() < 0.15:
            kwargs["dilation_rate"] = 2  # with strides > 1, Keras refuses a Conv (not a depthwise)
        return kwargs

    def conv(self, shape: list[int], rank: int) -> None:
        rng = self.rng
        kwargs = {"filters": rng.randint(1, 12), **self.window(rank)}
        if rng.random() < 0.15:
            kwargs["groups"] = rng.choice([2, 3])
            kwargs["filters"] = kwargs["groups"] * rng.randint(1, 4) if rng.random() < 0.8 else kwargs["filters"]
        if rng.random() < 0.3:
            kwargs["use_bias"] = False
        if rng.random() < 0.3:
            kwargs["activation"] = rng.choice(["relu", "swish", "sigmoid", "linear"])
        self.add(f"Conv{rank}D", kwargs, self.spatial_out(shape, rank, kwargs, kwargs["filters"]))

    def depthwise(self, shape: list[int], rank: int) -> None:
        kwargs = self.window(rank)
        kwargs.pop("padding", None) if kwargs.get("padding") == "causal" else None
        if self.rng.random() < 0.4:
            kwargs["depth_multiplier"] = self.rng.choice([1, 2, 3])
        channels = shape[-1] * kwargs.get("depth_multiplier", 1)
        self.add(f"DepthwiseConv{rank}D", kwargs, self.spatial_out(shape, rank, kwargs, channels))

    def separable(self, shape: list[int], rank: int) -> None:
        kwargs = {"filters": self.rng.randint(1, 12), **self.window(rank)}
        kwargs.pop("padding", None) if kwargs.get("padding") == "causal" else None
        self.add(f"SeparableConv{rank}D", kwargs, self.spatial_out(shape, rank, kwargs, kwargs["filters"]))

    def transpose(self, shape: list[int], rank: int) -> None:
        rng = self.rng
        kwargs = {"filters": rng.randint(1, 8), "kernel_size": rng.choice([1, 2, 3, 4])}
        if rng.random() < 0.6:
            kwargs["strides"] = rng.choice([1, 2])
        if rng.random() < 0.5:
            kwargs["padding"] = rng.choice(["valid", "same"])
        if rng.random() < 0.4:
            kwargs["output_padding"] = rng.choice([0, 1, 1, 2])  # 2 or with strides 1: refused
        if rng.random() < 0.1:
            kwargs["dilation_rate"] = 2
        if max(shape[:-1]) > 40:
            return self.pool(shape, rank)  # keep the sizes small
        self.add(f"Conv{rank}DTranspose", kwargs, [*(n * 2 + 3 for n in shape[:-1]), kwargs["filters"]])

    def pool(self, shape: list[int], rank: int) -> None:
        rng = self.rng
        kind = rng.choice(["MaxPooling", "AveragePooling"])
        kwargs = {
            "pool_size": rng.choice([1, 2, 2, 3]) if rng.random() < 0.8 else [rng.randint(1, 3) for _ in range(rank)]
        }
        if rng.random() < 0.4:
            kwargs["strides"] = rng.choice([1, 2, 3])
        if rng.random() < 0.4:
            kwargs["padding"] = rng.choice(["valid", "same"])
        self.add(
            f"{kind}{rank}D",
            kwargs,
            self.spatial_out(shape, rank, {**kwargs, "kernel_size": kwargs["pool_size"]}, shape[-1]),
        )

    def norm(self, shape: list[int], rank: int) -> None:
        rng = self.rng
        choice = rng.choice(["BatchNormalization", "LayerNormalization", "GroupNormalization"])
        kwargs: dict = {}
        if choice == "BatchNormalization" and rng.random() < 0.4:
            kwargs[rng.choice(["center", "scale"])] = False
        if choice == "GroupNormalization":
            divisors = [g for g in range(1, shape[-1] + 1) if shape[-1] % g == 0]
            kwargs["groups"] = rng.choice(divisors) if rng.random() < 0.85 else shape[-1] + 1
        self.add(choice, kwargs, shape)

    def batchnorm(self, shape: list[int], rank: int) -> None:
        self.add("BatchNormalization", {}, shape)

    def pad(self, shape: list[int], rank: int) -> None:
        rng = self.rng
        value = rng.choice([1, 2, [[0, 1]] * rank if rank > 1 else [0, 1]])
        self.add(f"ZeroPadding{rank}D", {"padding": value}, [*(n + 2 for n in shape[:-1]), shape[-1]])

    def crop(self, shape: list[int], rank: int) -> None:
        value = self.rng.choice([1, 2, 3])  # 2 * value >= a size: refused
        self.add(f"Cropping{rank}D", {"cropping": value}, [*(n - 2 * value for n in shape[:-1]), shape[-1]])

    def upsample(self, shape: list[int], rank: int) -> None:
        if max(shape[:-1]) > 30:
            return self.pool(shape, rank)
        self.add(f"UpSampling{rank}D", {"size": 2}, [*(n * 2 for n in shape[:-1]), shape[-1]])

    def dense(self, shape: list[int], rank: int) -> None:
        rng = self.rng
        kwargs = {"units": rng.randint(1, 16)}
        if rng.random() < 0.3:
            kwargs["activation"] = rng.choice(["relu", "softmax", "tanh"])
        self.add("Dense", kwargs, [*shape[:-1], kwargs["units"]])

    def act(self, shape: list[int], rank: int) -> None:
        rng = self.rng
        choice = rng.choice(["ReLU", "LeakyReLU", "Activation", "Dropout", "PReLU", f"SpatialDropout{rank}D"])
        kwargs = {
            "ReLU": {"max_value": 6},
            "LeakyReLU": {},
            "Activation": {"activation": "gelu"},
            "Dropout": {"rate": 0.25},
            "PReLU": {"shared_axes": list(range(1, rank + 1))} if rng.random() < 0.5 else {},
        }.get(choice, {"rate": 0.1})
        self.add(choice, kwargs, shape)

    def activation(self, shape: list[int], rank: int) -> None:
        self.add("Activation", {"activation": "relu"}, shape)

    def dropout(self, shape: list[int], rank: int) -> None:
        self.add("Dropout", {"rate": 0.5}, shape)

    def reshape(self, shape: list[int], rank: int) -> None:
        n = shape[0]
        target = [-1, 2] if n % 2 == 0 or self.rng.random() < 0.2 else [n, 1]  # odd n by 2: refused
        self.add("Reshape", {"target_shape": target}, [n // 2, 2] if target[1] == 2 else [n, 1])

    def flatten(self, shape: list[int], rank: int) -> None:
        total = 1
        for n in shape:
            total *= n
        self.add("Flatten", {}, [total])

    def global_(self, shape: list[int], rank: int) -> None:
        kind = self.rng.choice(["Average", "Max"])
        self.add(f"Global{kind}Pooling{rank}D", {}, [shape[-1]])

    def merge(self, shape: list[int], rank: int) -> None:
        """A branch: a convolution keeping the size (or not: refused), then Add or Concatenate."""
        rng = self.rng
        start = self.previous
        filters = shape[-1] if rng.random() < 0.9 else shape[-1] + 1
        strides = 1 if rng.random() < 0.9 else 2
        self.add(
            f"Conv{rank}D",
            {"filters": filters, "kernel_size": 3, "padding": "same", "strides": strides},
            [*shape[:-1], filters],
        )
        kind = rng.choice(["Add", "Concatenate", "Multiply"])
        out = [*shape[:-1], shape[-1] + filters] if kind == "Concatenate" else shape
        self.add(kind, {}, out, inputs=[start, self.previous])

    def spatial_out(self, shape: list[int], rank: int, kwargs: dict, channels: int) -> list[int] | None:
        """Roughly the output (to choose what follows); None for a size that would vanish."""
        out = [max(n // max(1, _first(kwargs.get("strides", 1))), 0) for n in shape[:-1]]
        return None if min(out, default=1) < 1 else [*out, channels]


def _first(value) -> int:
    return value[0] if isinstance(value, list) else value


def generate(seed: int) -> KerasNet:
    return _Generator(seed).run(seed)


if __name__ == "__main__":
    print(generate(int(sys.argv[1]) if len(sys.argv) > 1 else 0).text)
