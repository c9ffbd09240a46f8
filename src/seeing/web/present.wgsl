// present.wgsl: draws a CHW image buffer (1 or 3 channels in [-1, 1]) onto a canvas with a
// full-screen triangle; nearest texel, optional horizontal mirror. No copy, no readback.
// view uniform (16 bytes): res, channels, mirror, pad (u32)
alias T = f32;

struct View { res: u32, channels: u32, mirror: u32, pad: u32 }

@group(0) @binding(0) var<storage, read> img: array<T>;
@group(0) @binding(1) var<uniform> view: View;

struct VsOut { @builtin(position) pos: vec4f, @location(0) uv: vec2f }

@vertex
fn vs(@builtin(vertex_index) i: u32) -> VsOut {
  let p = vec2f(f32((i << 1u) & 2u), f32(i & 2u));  // (0,0) (2,0) (0,2)
  var o: VsOut;
  o.pos = vec4f(p * 2.0 - 1.0, 0.0, 1.0);
  o.uv = vec2f(p.x, 1.0 - p.y);
  return o;
}

@fragment
fn fs(v: VsOut) -> @location(0) vec4f {
  let R = view.res;
  var x = min(u32(max(v.uv.x, 0.0) * f32(R)), R - 1u);
  let y = min(u32(max(v.uv.y, 0.0) * f32(R)), R - 1u);
  if (view.mirror == 1u) { x = R - 1u - x; }
  let i = y * R + x;
  var rgb: vec3f;
  if (view.channels == 1u) {
    rgb = vec3f(f32(img[i]));
  } else {
    rgb = vec3f(f32(img[i]), f32(img[R * R + i]), f32(img[2u * R * R + i]));
  }
  return vec4f(clamp(rgb * 0.5 + 0.5, vec3f(0.0), vec3f(1.0)), 1.0);
}
