"""Run the CPU engine's .wasm outside the browser through `wasmtime` (tests, and timing natively).

`WasmNet(model_or_layers, variant)` mirrors what engine-wasm.js does: create the net, declare the
layers, load (dequantize and pack) the weights, then run a frame or single layers on one thread.
"""

from __future__ import annotations

import numpy as np

from seeing.serve import WEB_ROOT as WEB

DTYPES = {np.dtype(np.float32): 0, np.dtype(np.float16): 1, np.dtype(np.uint8): 2}


def _shared_memory(engine, mtype):
    """A wasmtime SharedMemory that can be imported (wasmtime-py 50 wraps its pointer once too often)."""
    import wasmtime
    from wasmtime import _ffi as ffi

    class SharedMemory(wasmtime.SharedMemory):
        def _as_extern(self):
            return ffi.wasmtime_extern_t(
                ffi.WASMTIME_EXTERN_SHAREDMEMORY, ffi.wasmtime_extern_union(sharedmemory=self.ptr())
            )

    return SharedMemory(engine, mtype)


class WasmNet:
    """One generator in one wasm instance (single thread).

    layers: per layer (weight (cout, cin, 4, 4) as float32/float16/uint8, bias, scale, zero), in forward
    order; deg: DegradeParams (its resolution is the side the net runs at: 2 ** n_down or a multiple,
    degrade.at_size); slope: LeakyReLU slope.
    """

    def __init__(self, n_down: int, layers, deg, slope: float, variant: str = "seeing-relaxed.wasm", threads: int = 1):
        import wasmtime

        cfg = wasmtime.Config()
        cfg.wasm_simd = True
        cfg.wasm_relaxed_simd = True
        cfg.wasm_bulk_memory = True
        self.shared = shared = variant.endswith("-mt.wasm")
        cfg.wasm_threads = shared
        cfg.shared_memory = shared
        self.engine = wasmtime.Engine(cfg)
        self.store = wasmtime.Store(self.engine)
        module = wasmtime.Module.from_file(self.engine, str(WEB / variant))
        limits = module.imports[0].type.limits
        mtype = (
            wasmtime.MemoryType(wasmtime.Limits(limits.min, limits.max), shared=shared)
            if shared
            else wasmtime.MemoryType(wasmtime.Limits(limits.min, limits.max))
        )
        self.memory = _shared_memory(self.engine, mtype) if shared else wasmtime.Memory(self.store, mtype)
        self.module, self.threads = module, threads
        self.instance = wasmtime.Instance(self.store, module, [self.memory])
        ex = self.instance.exports(self.store)
        self.fn = {
            name: ex[name]
            for name in (
                "alloc",
                "scratch",
                "net_create",
                "net_layer",
                "net_load",
                "net_input",
                "net_params",
                "degrade_run",
                "layer_run",
                "frame_run",
                "net_begin",
                "net_x0",
                "net_rgba",
                "net_out",
                "net_in",
            )
        }
        self.res = deg.resolution
        self.n_layers = 2 * n_down
        self.net = self.call(
            "net_create", n_down, self.res, deg.grid, float(deg.bicubic_a), *map(float, deg.luma), threads
        )
        if not self.net:
            raise MemoryError("net_create failed")
        self.couts = []
        for i, (w, b, scale, zero) in enumerate(layers):
            cout = w.shape[0]
            self.couts.append(cout)
            if not self.call("net_layer", self.net, i, cout, float(slope)):
                raise MemoryError(f"net_layer {i} failed")
            w = np.ascontiguousarray(w)
            parts = [w.tobytes(), np.asarray(b, np.float32).tobytes()]
            if w.dtype == np.uint8:
                parts += [np.asarray(scale, np.float32).tobytes(), np.asarray(zero, np.float32).tobytes()]
            offs = np.cumsum([0] + [(len(p) + 15) // 16 * 16 for p in parts])
            base = self.call("scratch", int(offs[-1]))
            for p, o in zip(parts, offs):
                self.write(base + int(o), p)
            sc, ze = (base + int(offs[2]), base + int(offs[3])) if w.dtype == np.uint8 else (0, 0)
            self.call("net_load", self.net, i, base, DTYPES[w.dtype], sc, ze, base + int(offs[1]))

    @classmethod
    def from_model(cls, model_path, variant: str = "seeing-relaxed.wasm", threads: int = 1, size: int | None = None):
        """Load a model file the way the page does: raw weights as stored (uint8/float16/float32);
        size: run it at size x size (default: its resolution)."""
        from safetensors.numpy import load_file

        from seeing.degrade import at_size
        from seeing.modelfile import layer_names, read_model

        m = read_model(model_path)
        raw = load_file(str(model_path))
        layers = []
        for name in layer_names(m.config):
            layers.append(
                (raw[f"{name}.weight"], raw[f"{name}.bias"], raw.get(f"{name}.scale"), raw.get(f"{name}.zero"))
            )
        deg = at_size(m.degradation, size) if size else m.degradation
        return cls(len(m.config.down), layers, deg, m.config.leaky_slope, variant, threads)

    # ---------------------------------------------------------------- memory access
    def call(self, name, *args):
        return self.fn[name](self.store, *args)

    def view(self) -> np.ndarray:
        """The whole linear memory as uint8 (a fresh view: the memory may have grown)."""
        if self.shared:
            ptr, size = self.memory.data_ptr(), self.memory.data_len()
        else:
            ptr, size = self.memory.data_ptr(self.store), self.memory.data_len(self.store)
        return np.ctypeslib.as_array(ptr, (size,))

    def write(self, addr: int, data: bytes) -> None:
        self.view()[addr : addr + len(data)] = np.frombuffer(data, np.uint8)

    def floats(self, addr: int, count: int) -> np.ndarray:
        return self.view()[addr : addr + 4 * count].view(np.float32).copy()

    # ---------------------------------------------------------------- layers
    def layer_buffer(self, i: int, which: str) -> tuple[int, int, int]:
        """(address, side, channels) of layer i's padded 'out', 'a' or 'b' buffer."""
        side_in = self.res >> i if i < self.n_layers // 2 else self.res >> (self.n_layers - i)
        if which == "out":
            side = side_in // 2 if i < self.n_layers // 2 else side_in * 2
            c = self.couts[i]
            return self.call("net_out", self.net, i), side, (c + 3) // 4 * 4 if i == self.n_layers - 1 else c
        addr = self.call("net_in", self.net, i, 1 if which == "b" else 0)
        return addr, side_in, None

    def set_padded(self, addr: int, hwc: np.ndarray) -> None:
        """Write an (H, W, C) array into the interior of a padded NHWC buffer."""
        h, w, c = hwc.shape
        buf = np.zeros((h + 2, w + 2, c), np.float32)
        buf[1:-1, 1:-1] = hwc
        self.write(addr, buf.tobytes())

    def get_padded(self, addr: int, side: int, c: int) -> np.ndarray:
        return self.floats(addr, (side + 2) ** 2 * c).reshape(side + 2, side + 2, c)

    def run_layer(self, i: int) -> None:
        self.call("layer_run", self.net, i, 0, 1)

    # ---------------------------------------------------------------- frames
    def set_frame(self, rgba: np.ndarray, brightness=1.0, contrast=1.0, smooth=0.0, mirror=False) -> None:
        h, w = rgba.shape[:2]
        addr = self.call("net_input", self.net, w, h)
        self.write(addr, np.ascontiguousarray(rgba, np.uint8).tobytes())
        self.call("net_params", self.net, float(brightness), float(contrast), float(smooth), int(mirror), 1)

    def degraded(self) -> np.ndarray:
        r = self.res
        return self.get_padded(self.call("net_x0", self.net), r, 1)[1:-1, 1:-1, 0]

    def frame(self, rgba: np.ndarray, **params) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(degraded (R, R), output (3, R, R) in [-1, 1], rgba (R, R, 4) uint8) for one frame."""
        self.set_frame(rgba, **params)
        self.call("frame_run", self.net, 0, 1)
        return self._frame_result()

    def _frame_result(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(degraded, output, rgba) of the frame just run, copied out of the module's memory."""
        r = self.res
        c = self.couts[-1]
        out = self.get_padded(self.call("net_out", self.net, self.n_layers - 1), r, (c + 3) // 4 * 4)[
            1:-1, 1:-1, :c
        ].transpose(2, 0, 1)
        a = self.call("net_rgba", self.net)
        return self.degraded(), out.copy(), self.view()[a : a + r * r * 4].reshape(r, r, 4).copy()

    def frame_threads(self, rgba: np.ndarray, **params) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Like frame(), split over self.threads OS threads, each with its own instance of the module on the
        one shared memory (the -mt variants): what the page's workers do."""
        import threading

        import wasmtime

        assert self.shared, "threads need a -mt variant"
        self.set_frame(rgba, **params)
        if not hasattr(self, "_runs"):  # one instance per extra thread, made once
            self._runs = []
            for tid in range(1, self.threads):
                store = wasmtime.Store(self.engine)
                inst = wasmtime.Instance(store, self.module, [self.memory])
                self._runs.append((store, inst.exports(store)["frame_run"], tid))
        runs = self._runs
        self.call("net_begin", self.net)  # the page does this before posting the frame to its workers
        workers = [threading.Thread(target=f, args=(st, self.net, tid, self.threads)) for st, f, tid in runs]
        for w in workers:
            w.start()
        self.call("frame_run", self.net, 0, self.threads)
        for w in workers:
            w.join()
        return self._frame_result()
