// worlds.js: the bundled models ("worlds") as a picker of thumbnails, the installation mode's timer
// that moves through them, and the crossfade of one output canvas over another. app.js decides
// when to switch; this module only builds the DOM and keeps time.

/**
 * Fill `el` with one button per model of models.json ({name, thumb}): its thumbnail (or its
 * initial where it has none) and its name. onPick(index) runs on a click.
 */
export function renderPicker(el, list, onPick) {
  el.replaceChildren(...list.map((m, i) => {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "world";
    b.dataset.index = String(i);
    b.title = `${m.name} (${m.precision}, ${(m.size / 1e6).toFixed(1)} MB)`;
    let pic;
    if (m.thumb) {
      pic = document.createElement("img");
      pic.src = m.thumb;
      pic.alt = "";
      pic.width = pic.height = 64;
    } else {
      pic = document.createElement("span");
      pic.className = "no-thumb";
      pic.textContent = (m.name[0] || "?").toUpperCase();
    }
    const label = document.createElement("span");
    label.className = "name";
    label.textContent = m.name;
    b.append(pic, label);
    b.addEventListener("click", () => onPick(i));
    return b;
  }));
}

/** Mark the picker's button `index` as the running model (-1: none, e.g. an uploaded file). */
export function markCurrent(el, index) {
  for (const b of el.querySelectorAll("button.world")) {
    const on = +b.dataset.index === index;
    b.classList.toggle("on", on);
    b.setAttribute("aria-pressed", String(on));
  }
}

/** The index of the model called `name` in the list, or -1. */
export function findModel(list, name) {
  return name == null ? -1 : list.findIndex((m) => m.name === name);
}

/**
 * A timer for the installation mode: every `seconds` (0: off) it calls onTick(), an async function
 * (the switch); the next period starts when that switch has finished, so slow switches never pile up.
 */
export class Cycle {
  constructor(onTick) {
    this.onTick = onTick;
    this.seconds = 0;
    this.timer = null;
  }

  /** Change the period (0 stops) and start counting it from now. */
  set(seconds) {
    this.seconds = seconds > 0 ? seconds : 0;
    this.restart();
  }

  /** Count a whole period from now (e.g. after a switch by hand). */
  restart() {
    clearTimeout(this.timer);
    this.timer = this.seconds ? setTimeout(() => this._tick(), this.seconds * 1000) : null;
  }

  async _tick() {
    this.timer = null;
    try { await this.onTick(); } finally { if (!this.timer) this.restart(); }
  }
}

/**
 * A new canvas stacked over the holder's current picture, invisible until `fadeIn` starts;
 * until then the holder shows what it showed.
 */
export function stackedCanvas(holder) {
  const c = document.createElement("canvas");
  c.className = "incoming";
  holder.append(c);
  return c;
}

/** Fade a stacked canvas in over `ms` (CSS opacity, on the compositor). */
export function fadeIn(canvas, ms) {
  canvas.style.transitionDuration = `${ms}ms`;
  canvas.getBoundingClientRect();  // commit opacity 0 first, so the change below transitions
  canvas.classList.add("shown");
}

/** End a fade: the canvas becomes the holder's only picture (with `id`), the ones below go. */
export function settle(holder, canvas, id) {
  for (const c of [...holder.children]) if (c !== canvas) c.remove();
  canvas.className = "";
  canvas.style.transitionDuration = "";
  canvas.id = id;
}
