"""Run a PyTorch model once on the meta device and record what it computes, module by module.

Every module call is seen through forward hooks; every torch function called outside a leaf
module (`out + identity`, `torch.flatten(x, 1)`, `F.relu`) through a TorchFunctionMode. A *leaf*
is a module a spec layer stands for (`nn.Conv2d`, `nn.ReLU`: `is_leaf` decides); what runs
inside it is not recorded. Any other module is a *scope*: one call of it holds the calls made
inside, in order, so the module tree and the wiring come from one run, data-dependent Python
included (as long as it reads shapes, not values: the meta device has none).

Tensors are followed by identity: each recorded call's tensor arguments are the values some
earlier call (or the model's input) produced, so the graph is exact, with no guessing from
shapes. Pure: nothing is printed; torch is imported by the caller.
"""

from __future__ import annotations

BATCH = 2  # a batch of one would hide a layer that mixes up the batch axis


IN_PLACE_OPERATORS = {f"__i{op}__" for op in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul")}
IN_PLACE_OPERATORS |= {"__iand__", "__ior__", "__ixor__", "__ilshift__", "__irshift__"}


class TraceError(Exception):
    """The model does not run on the given input (its own exception is `raised`)."""

    def __init__(self, message: str, raised: BaseException | None = None):
        super().__init__(message)
        self.raised = raised


class Value:
    """A tensor the model computed: who made it (an Op, a Scope's input, the model's input k)
    and its shape after the batch axis."""

    __slots__ = ("producer", "shape", "index", "batch")

    def __init__(self, producer, shape: tuple, index: int = 0, batch: int | None = BATCH):
        self.producer, self.shape, self.index, self.batch = producer, shape, index, batch


class Op:
    """One recorded call: a leaf module's (`module` set, `path` its module path) or a function's
    (`function` set). `args`/`kwargs` are as called, tensors replaced by their Value (a model
    parameter by its Param, an untracked tensor by Const); `inputs` the Values it read in order."""

    __slots__ = ("module", "path", "function", "args", "kwargs", "inputs", "outputs", "scope", "writes")

    def __init__(self, module, path, function, args, kwargs, inputs, scope):
        self.module, self.path, self.function = module, path, function
        self.args, self.kwargs, self.inputs = args, kwargs, inputs
        self.outputs: list[Value] = []
        self.scope: Scope = scope
        self.writes: str = ""  # how it changes a tensor it reads in place, where no layer can say so

    @property
    def name(self) -> str:
        if not self.function:
            return type(self.module).__name__
        name = getattr(self.function, "__name__", repr(self.function))
        if name in ("__get__", "__set__"):  # a property of Tensor (x.mT): its own name
            name = getattr(getattr(self.function, "__self__", None), "__name__", name)
        return name


class Param:
    """A model parameter (or buffer) read by a function outside any leaf: `path` is its name."""

    __slots__ = ("path", "shape", "buffer")

    def __init__(self, path: str, shape: tuple, buffer: bool = False):
        self.path, self.shape, self.buffer = path, shape, buffer


class Const:
    """A tensor made inside forward() from no input (torch.zeros, torch.arange)."""

    __slots__ = ("shape",)

    def __init__(self, shape: tuple):
        self.shape = shape


class Scope:
    """One call of a module that is not a leaf: the calls made inside it, in order (Ops and the
    Scopes of its child modules), the Values it was called with and those it returned."""

    __slots__ = ("module", "path", "parent", "entries", "inputs", "outputs", "argument_names")

    def __init__(self, module, path: str, parent):
        self.module, self.path, self.parent = module, path, parent
        self.entries: list = []
        self.inputs: list[Value] = []
        self.outputs: list[Value] = []
        self.argument_names: list[str] = []


class Trace:
    """The root Scope (the model's own call), the model's input Values, and its output Values."""

    __slots__ = ("root", "inputs", "outputs", "model")

    def __init__(self, root: Scope, inputs: list[Value], outputs: list[Value], model):
        self.root, self.inputs, self.outputs, self.model = root, inputs, outputs, model


def trace(torch, model, input_shapes: list[tuple], is_leaf, indices: bool = False) -> Trace:
    """Run `model` (built on the meta device) on zeros of `input_shapes` (without the batch
    axis): floats, or with `indices` integers (a model that starts with an embedding)."""
    recorder = _Recorder(torch, model, is_leaf)
    dtype = torch.long if indices else torch.float32
    tensors = [torch.zeros((BATCH, *shape), device="meta", dtype=dtype) for shape in input_shapes]
    inputs = [recorder.track(t, ("input", k)) for k, t in enumerate(tensors)]
    recorder.root.inputs = inputs
    recorder.root.argument_names = _argument_names(model, len(inputs))
    handles = []
    for path, module in model.named_modules():
        if not path:
            continue
        handles.append(module.register_forward_pre_hook(recorder.enter(path), with_kwargs=True))
        handles.append(module.register_forward_hook(recorder.leave(path), with_kwargs=True))
    try:
        with torch.no_grad(), recorder.mode():
            output = model(*tensors)
    except TraceError:
        raise
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # the model's own code
        raise TraceError(_failure(exc, recorder, input_shapes), exc) from None
    finally:
        for handle in handles:
            handle.remove()
    outputs = [recorder.value_of(t) for t in _tensors(torch, output)]
    if not outputs or any(v is None for v in outputs):
        raise TraceError("the model's forward() returns no tensor computed from its input")
    recorder.root.outputs = outputs
    return Trace(recorder.root, inputs, outputs, model)


def _failure(exc: BaseException, recorder, input_shapes: list[tuple]) -> str:
    """Where and how the run failed: the input as run (with cnncalc's batch), the module."""
    shapes = ", ".join(str([BATCH, *shape]) for shape in input_shapes)
    where = recorder.leaf_stack[-1] if recorder.in_leaf and recorder.leaf_stack else recorder.scope
    module = f" in {where.path} ({type(where.module).__name__})" if where.path else ""
    hint = (
        " (it runs on the meta device, with no values: a forward that reads them, by .item() or an `if` "
        "on a tensor, cannot run there)"
        if "meta" in str(exc)
        else ""
    )
    return (
        f"the model does not run on the input {shapes} (--input and a batch of {BATCH}){module}: "
        f"{type(exc).__name__}: {_first_line(exc)}{hint}"
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else ""


def _tensors(torch, value) -> list:
    """The tensors in a call's result or arguments, in order (tuples, lists and dicts opened)."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for item in value for t in _tensors(torch, item)]
    if isinstance(value, dict):
        return [t for item in value.values() for t in _tensors(torch, item)]
    return []


class _Recorder:
    def __init__(self, torch, model, is_leaf):
        self.torch, self.is_leaf = torch, is_leaf
        self.values: dict[int, Value] = {}
        self.keep: list = []  # every tensor seen stays alive, so no id() is reused
        self.params = {id(p): (name, tuple(p.shape)) for name, p in model.named_parameters()}
        self.params.update({id(b): (name, tuple(b.shape), True) for name, b in model.named_buffers()})
        self.root = Scope(model, "", None)
        self.scope = self.root
        self.in_leaf = 0
        self.leaf_stack: list = []

    def track(self, tensor, producer, index: int = 0) -> Value:
        value = Value(producer, tuple(tensor.shape[1:]), index, tensor.shape[0] if tensor.dim() else None)
        self.values[id(tensor)] = value
        self.keep.append(tensor)
        return value

    def value_of(self, tensor) -> Value | None:
        return self.values.get(id(tensor))

    def _ref(self, item):
        """An argument as the Op keeps it: a tensor as its Value, Param or Const; lists opened."""
        torch = self.torch
        if isinstance(item, torch.Tensor):
            found = self.values.get(id(item))
            if found is not None:
                return found
            if id(item) in self.params:
                return Param(*self.params[id(item)])
            return Const(tuple(item.shape))
        if isinstance(item, (list, tuple)):
            return type(item)(self._ref(i) for i in item) if not hasattr(item, "_fields") else item
        if isinstance(item, dict):
            return {k: self._ref(v) for k, v in item.items()}
        return item

    def _op(self, module, path, function, args, kwargs) -> Op:
        args, kwargs = self._ref(tuple(args)), self._ref(dict(kwargs))
        inputs = [v for v in flat(args) + flat(kwargs) if isinstance(v, Value)]
        return Op(module, path, function, args, kwargs, inputs, self.scope)

    def _produced(self, op: Op, result) -> None:
        for k, tensor in enumerate(_tensors(self.torch, result)):
            op.outputs.append(self.track(tensor, op, k))

    def enter(self, path: str):
        def hook(module, args, kwargs):
            if self.in_leaf:
                return
            if self.is_leaf(module):
                self.in_leaf = 1
                self.leaf_stack.append(self._op(module, path, None, args, kwargs))
                return
            scope = Scope(module, path, self.scope)
            scope.inputs = [self.values[id(t)] for t in _tensors(self.torch, (args, kwargs)) if id(t) in self.values]
            scope.argument_names = _argument_names(module, len(scope.inputs))
            self.scope.entries.append(scope)
            self.scope = scope

        return hook

    def leave(self, path: str):
        def hook(module, args, kwargs, result):
            if self.leaf_stack and self.leaf_stack[-1].module is module and self.in_leaf:
                op = self.leaf_stack.pop()
                self.in_leaf = 0
                self.scope.entries.append(op)
                self._produced(op, result)
                return
            if self.in_leaf or self.scope.module is not module:
                return
            scope = self.scope
            scope.outputs = [self.values[id(t)] for t in _tensors(self.torch, result) if id(t) in self.values]
            self.scope = scope.parent

        return hook

    def writes(self, func, args) -> str:
        """How a call changes a tracked tensor in place where its result cannot say so: a write
        by index, or an in-place op on a view (it changes the tensor the view is of)."""
        name = getattr(func, "__name__", "")
        first = args[0] if args else None
        if not isinstance(first, self.torch.Tensor) or id(first) not in self.values:
            return ""
        if name == "__setitem__":
            return "writing into a tensor by index (x[...] = ...)"
        in_place = (name.endswith("_") and not name.startswith("__")) or name in IN_PLACE_OPERATORS
        if in_place and first._base is not None:
            return f"{name}() in place on a view (a slice, chunk or reshape) of another tensor"
        return ""

    def mode(self):
        from torch.overrides import TorchFunctionMode

        recorder = self

        class _Mode(TorchFunctionMode):
            def __torch_function__(self, func, types, args=(), kwargs=None):
                kwargs = kwargs or {}
                result = func(*args, **kwargs)
                if recorder.in_leaf:
                    return result
                writes = recorder.writes(func, args)
                if not writes and not _tensors(recorder.torch, result):
                    return result
                op = recorder._op(None, "", func, args, kwargs)
                op.writes = writes
                if writes and not _tensors(recorder.torch, result):  # x[:, :4] = 0: refused when mapped
                    recorder.scope.entries.append(op)
                    return result
                if not op.inputs and not any(isinstance(v, Param) for v in flat(op.args) + flat(op.kwargs)):
                    return result  # a constant made from nothing: kept untracked (a Const if read)
                recorder.scope.entries.append(op)
                recorder._produced(op, result)
                return result

        return _Mode()


def flat(value) -> list:
    """The items in nested tuples, lists and dicts, in order."""
    if isinstance(value, (list, tuple)):
        return [v for item in value for v in flat(item)]
    if isinstance(value, dict):
        return [v for item in value.values() for v in flat(item)]
    return [value]


def _argument_names(module, count: int) -> list[str]:
    """The names forward() gives its first `count` tensor arguments (x, skip), for the block's inputs."""
    import inspect

    try:
        parameters = list(inspect.signature(module.forward).parameters.values())
    except (TypeError, ValueError):
        return []
    names = [p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return names[:count] if len(names) >= count else []
