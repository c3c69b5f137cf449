"""Published total parameter counts: the one table every test that needs one reads.

PyTorch's parameters(), buffers excluded. For torchvision's models the figure is the weights'
meta "num_params"; the others say where theirs comes from. tests/test_architectures.py checks
every architectures/*.yaml against it (and that the figures written in the specs' header
comments and in README.md's table agree with it); tests/test_zoo*.py check the hand-written
torch.nn twins in tests/zoo_torch_*.py against it.
"""

from __future__ import annotations

from pathlib import Path

PUBLISHED_PARAMS: dict[str, int] = {
    "lenet5": 61_706,  # LeCun et al. 1998, as architectures/lenet5.yaml writes it
    "alexnet": 61_100_840,  # torchvision num_params
    "alexnet_original": 60_965_224,  # Krizhevsky et al. 2012, 227 input, groups=2
    "vgg11": 132_863_336,  # torchvision num_params, as are the VGGs below
    "vgg16": 138_357_544,
    "vgg16_bn": 138_365_992,
    "vgg19": 143_667_240,
    "dogs_cats": 813_217,  # the README's worked examples
    "seed_50x50": 1_199_426,  # docs/spec.md works it out by hand
    # the zoo: torchvision's num_params (tests/test_zoo.py checks each layer against torch)
    "resnet18": 11_689_512,
    "resnet34": 21_797_672,
    "resnet50": 25_557_032,
    "resnet101": 44_549_160,
    "resnet152": 60_192_808,
    "resnext50_32x4d": 25_028_904,
    "wide_resnet50_2": 68_883_240,
    "densenet121": 7_978_856,
    "squeezenet1_0": 1_248_424,
    "squeezenet1_1": 1_235_496,
    "mobilenet_v2": 3_504_872,
    "mobilenet_v3_small": 2_542_856,
    "mobilenet_v3_large": 5_483_032,
    "googlenet": 6_624_904,  # without the auxiliary heads, as are inception_v3's
    "inception_v3": 23_834_568,
    "shufflenet_v2_x1_0": 2_278_604,
    "mnasnet1_0": 4_383_312,
    "efficientnet_b0": 5_288_548,
    "regnet_y_400mf": 4_344_144,
    "convnext_tiny": 28_589_128,
    "unet": 31_037_698,  # milesial/Pytorch-UNet(3, 2, bilinear=False), bias-free convs
    # issue 12: segmentation, GroupNorm, CycleGAN, super-resolution (tests/zoo_torch_dense.py twins them)
    "fcn_resnet50": 32_957_013,  # torchvision, aux_loss off (its num_params, 35,322,218, has the aux head)
    "deeplabv3_resnet50": 39_638_869,  # torchvision, aux_loss off (num_params with the aux head: 42,004,074)
    "resnet50_gn": 25_557_032,  # timm; GroupNorm has BatchNorm's 2C affine params (and no buffers)
    "cyclegan_generator": 11_378_179,  # junyanz/pytorch-CycleGAN-and-pix2pix ResnetGenerator, 9 blocks
    "espcn": 22_729,  # Shi et al. 2016, x3 on one channel, as yjn870/ESPCN-pytorch writes it
    # issue 12: 1-D, 3-D and GAN (tests/zoo_torch_wide.py; not in ZOO, whose table is 2-D classifiers)
    "dcgan_generator": 3_576_704,  # PyTorch's DCGAN tutorial: nz 100, ngf 64, nc 3
    "dcgan_discriminator": 2_765_568,  # the same tutorial: ndf 64, nc 3
    "r3d_18": 33_371_472,  # torchvision num_params, as are the two video ResNets below
    "mc3_18": 11_695_440,  # r3d_18 less 18 x 1,204,224: stages 2-4's 3x3x3 kernels made 1x3x3
    "r2plus1d_18": 31_505_325,
    "m5": 26_915,  # torchaudio's speech-command tutorial: n_channel 32, stride 16, 35 classes
    "unet3d": 287_227,  # cnncalc's own small 3-D U-Net (tests/zoo_torch_wide.py, UNet3d)
    # issue 12: detection (tests/zoo_torch_yolo.py; several outputs, not in ZOO)
    "yolov5s": 7_235_389,  # ultralytics v6.0-v7.0 model summary, 80 classes; fused for inference: 7,225,885
    # issue 12: a vision transformer (tests/zoo_torch_vit.py; not in ZOO, whose table is CNNs)
    "vit_b_16": 86_567_656,  # torchvision num_params
    # issue 12: a diffusion UNet with two inputs (tests/zoo_torch_ddpm.py; not in ZOO)
    "ddpm_unet": 35_746_307,  # Ho et al. 2020's CIFAR-10 model ("35.7 million"), as diffusers' and ddim's print it
}

# Bundled specs written `convention: keras`, as keras.applications builds them with weights=None
# (model.summary()'s totals): total, trainable, non-trainable. tests/test_architectures_keras.py
# checks them against Keras itself; the PyTorch-convention tests leave them out (pytorch_specs).
KERAS_PUBLISHED: dict[str, tuple[int, int, int]] = {
    "dogs_cats_keras": (813_217, 813_217, 0),  # the textbook's, in Keras's words
    "mobilenet_v2_keras": (3_538_984, 3_504_872, 34_112),
    "resnet50_keras": (25_636_712, 25_583_592, 53_120),
}


def pytorch_specs(paths: list) -> list:
    """The bundled spec paths written in the PyTorch convention (not `convention: keras`)."""
    return [path for path in paths if Path(path).stem not in KERAS_PUBLISHED]


# Published counts of models that have a torch.nn twin (tests/zoo_torch_*.py) but no spec in
# architectures/ yet, because cnncalc lacks something the spec needs (see the twin's module);
# each moves to PUBLISHED_PARAMS with its architectures/<name>.yaml.
AWAITING_SPEC: dict[str, int] = {}

# The models with a hand-written torch.nn twin (tests/zoo_torch_classic.py, zoo_torch_mobile.py),
# which docs/costs.md's zoo table lists (tools/zoo_table.py).
ZOO: frozenset[str] = frozenset(
    {
        "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d", "wide_resnet50_2",
        "densenet121", "squeezenet1_0", "squeezenet1_1", "mobilenet_v2", "mobilenet_v3_small",
        "mobilenet_v3_large", "googlenet", "inception_v3", "shufflenet_v2_x1_0", "mnasnet1_0",
        "efficientnet_b0", "regnet_y_400mf", "convnext_tiny", "unet",
    }
)  # fmt: skip


# the files of hand-written torch.nn references, each with a MODELS table (tests/zoo_torch_*.py)
ZOO_TORCH_MODULES = (
    "zoo_torch_classic",
    "zoo_torch_mobile",
    "zoo_torch_wide",
    "zoo_torch_dense",
    "zoo_torch_vit",
    "zoo_torch_yolo",
    "zoo_torch_ddpm",
)


def zoo_names(module: str) -> list[str]:
    """The model names MODELS maps in tests/<module>.py, read from its source without importing
    it (it imports torch, which collecting the tests should not do)."""
    import ast
    from pathlib import Path

    tree = ast.parse((Path(__file__).parent / f"{module}.py").read_text(encoding="utf-8"))
    for node in tree.body:
        target = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(target, ast.Name) and target.id == "MODELS" and isinstance(node.value, ast.Dict):
            return sorted(key.value for key in node.value.keys)
    raise AssertionError(f"tests/{module}.py has no MODELS = {{...}}")
