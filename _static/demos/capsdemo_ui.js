/* What the three interactive figures share: drawing an array on a canvas, labelled controls, and
 * starting each figure found on the page. A figure is a <figure class="capsdemo" data-demo="NAME">
 * whose empty <div class="capsdemo-stage" hidden> this fills; its <figcaption> (the text
 * alternative) stays. Without JavaScript the stage stays hidden and the chapter's static figure
 * above it and the caption are what the reader gets. Labels follow the page's language (<html lang>).
 */
(function (root) {
  "use strict";
  const registry = {};

  function el(tag, attributes, children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes || {})) {
      if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (value !== false && value !== null && value !== undefined) node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children || []) node.append(child);
    return node;
  }

  function colour(value, map, limit) {
    if (map === "signed") {  // blue (negative) - white - red (positive), as matplotlib's RdBu_r
      const t = Math.max(-1, Math.min(1, value / (limit || 1)));
      const [r, g, b] = t >= 0 ? [178, 24, 43] : [33, 102, 172];
      const s = Math.abs(t);
      return [255 + (r - 255) * s, 255 + (g - 255) * s, 255 + (b - 255) * s];
    }
    const t = Math.max(0, Math.min(1, value / (limit || 1)));
    const level = map === "gray_r" ? 255 * (1 - t) : 255 * t;
    return [level, level, level];
  }

  /** Draw an [h, w] array on a canvas, one canvas pixel per entry (CSS scales it up, pixelated). */
  function drawMap(canvas, data, h, w, map, limit) {
    canvas.width = w;
    canvas.height = h;
    const context = canvas.getContext("2d");
    const image = context.createImageData(w, h);
    for (let i = 0; i < h * w; i++) {
      const [r, g, b] = colour(data[i], map, limit);
      image.data.set([r, g, b, 255], 4 * i);
    }
    context.putImageData(image, 0, 0);
  }

  function panel(title, size) {
    const canvas = el("canvas", { class: "capsdemo-map", width: 1, height: 1, style: `width:${size}px;height:${size}px`,
                                  "aria-hidden": "true" });
    return { node: el("div", { class: "capsdemo-panel" }, [canvas, el("div", { class: "capsdemo-panel-title", text: title })]), canvas };
  }

  let counter = 0;
  /** A labelled range input; onInput(value) on every move (mouse, touch or arrow keys). */
  function slider(label, min, max, step, value, format, onInput) {
    const id = `capsdemo-input-${++counter}`;
    const input = el("input", { type: "range", id, min, max, step, value });
    const shown = el("output", { for: id, text: format(Number(value)) });
    input.addEventListener("input", () => {
      shown.textContent = format(Number(input.value));
      onInput(Number(input.value));
    });
    const node = el("div", { class: "capsdemo-slider" }, [el("label", { for: id, text: label }), input, shown]);
    return {
      node, input,
      set(v) {
        input.value = v;
        shown.textContent = format(Number(input.value));
      },
    };
  }

  /** A group of radio buttons; onChange(value). */
  function choice(legend, options, value, onChange) {
    const name = `capsdemo-choice-${++counter}`;
    const items = options.map(([v, text]) => {
      const input = el("input", { type: "radio", name, value: v, checked: v === value });
      input.addEventListener("change", () => input.checked && onChange(v));
      return el("label", { class: "capsdemo-option" }, [input, " ", text]);
    });
    return el("fieldset", { class: "capsdemo-choice" }, [el("legend", { text: legend }), ...items]);
  }

  /** "ko" or "en": the language of the figure's nearest element that declares one (the page's <html lang>). */
  function language(figure) {
    const marked = (figure && figure.closest("[lang]")) || document.documentElement;
    return (marked.lang || "en").toLowerCase().startsWith("ko") ? "ko" : "en";
  }

  function register(name, mount) {
    registry[name] = mount;
  }

  function boot() {
    for (const figure of document.querySelectorAll("figure.capsdemo[data-demo]")) {
      const name = figure.dataset.demo;
      const stage = figure.querySelector(".capsdemo-stage");
      const data = (root.CapsDemoData || {})[name];
      if (!stage || !registry[name] || !data || figure.dataset.ready) continue;
      registry[name](stage, data, language(figure));
      stage.hidden = false;
      figure.dataset.ready = "true";
    }
  }

  root.CapsDemoUI = { boot, choice, drawMap, el, language, panel, register, slider };
  if (typeof document !== "undefined") {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
    else setTimeout(boot, 0);
  }
})(typeof self !== "undefined" ? self : this);
