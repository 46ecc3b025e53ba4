// flame_dom.js SVG COMMANDS...: runs the script of a flame graph written by
// `allocprof flame` against a small stand-in for the browser's DOM, then
// the commands ("zoom NAME": a click on the first box of that name; "search
// RE": a click on the Search button, answering RE; "reset": a click on Reset
// zoom; "escape": the key), printing after
// each the boxes shown (name x width, faded ones marked) and the matched
// text. Used by tests/cli/cases/flame_script.sh: it checks that the script
// the SVG carries runs, and that zoom and search do what they say.
"use strict";
const fs = require("fs");
const svg = fs.readFileSync(process.argv[2], "utf8");
const m = /<script[^>]*><!\[CDATA\[([\s\S]*?)\]\]><\/script>/.exec(svg);
if (!m) { console.log("no script"); process.exit(1); }

function el(tag, attrs, text) {
  return {
    tag, attrs: Object.assign({}, attrs), style: {}, children: [], listeners: {},
    textContent: text || "",
    getAttribute(k) { return k in this.attrs ? this.attrs[k] : null; },
    setAttribute(k, v) { this.attrs[k] = String(v); },
    getElementsByTagName(t) { return this.children.filter((c) => c.tag === t); },
    appendChild(c) { this.children.push(c); return c; },
    addEventListener(ev, f) { (this.listeners[ev] = this.listeners[ev] || []).push(f); },
  };
}
function attrs(s) {
  const a = {};
  for (const x of s.matchAll(/([\w-]+)="([^"]*)"/g)) a[x[1]] = x[2];
  return a;
}
const unxml = (s) => s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"')
  .replace(/&apos;/g, "'").replace(/&amp;/g, "&");
const groups = [], byId = {};
for (const g of svg.matchAll(/<g class="([^"]*)"><title>([\s\S]*?)<\/title><rect ([^>]*)\/>(?:<text ([^>]*)>([\s\S]*?)<\/text>)?<\/g>/g)) {
  const ge = el("g", {class: g[1]});
  ge.appendChild(el("title", {}, unxml(g[2])));
  ge.appendChild(el("rect", attrs(g[3])));
  if (g[4] !== undefined) ge.appendChild(el("text", attrs(g[4]), unxml(g[5])));
  groups.push(ge);
}
for (const t of svg.matchAll(/<text id="(\w+)"([^>]*)>([^<]*)<\/text>/g)) {
  byId[t[1]] = el("text", attrs(t[2]), t[3]);
  if (/display:\s*none/.test(byId[t[1]].attrs.style || "")) byId[t[1]].style.display = "none";
}
const keyListeners = [];
global.document = {
  getElementById: (id) => byId[id] || null,
  getElementsByTagName: (t) => (t === "g" ? groups : []),
  createElementNS: (ns, t) => el(t, {}),
  addEventListener: (ev, f) => keyListeners.push(f),
};
global.window = global;
let answer = null;
global.prompt = () => answer;
new Function(m[1])();  // the script as the browser runs it

function show(what) {
  const out = [];
  for (const g of groups) {
    if (g.style.display === "none") continue;
    const r = g.getElementsByTagName("rect")[0], t = g.getElementsByTagName("text")[0];
    const name = g.getElementsByTagName("title")[0].textContent.split("\n")[0];
    out.push(`${name}${g.style.opacity ? "(faded)" : ""} ${r.getAttribute("x")}+${r.getAttribute("width")}` +
             `${r.getAttribute("fill") === "rgb(230,0,230)" ? " HIT" : ""}${t && t.textContent ? ` "${t.textContent}"` : ""}`);
  }
  console.log(`--- ${what}: reset ${byId.reset.style.display === "none" ? "hidden" : "shown"}; ` +
              `search button "${byId.search.textContent}"; matched "${byId.matched.textContent}"`);
  for (const o of out) console.log("  " + o);
}
const click = (e) => e.listeners.click.forEach((f) => f());
show("as drawn");
for (const cmd of process.argv.slice(3)) {
  const [verb, arg] = cmd.split(/ (.*)/);
  if (verb === "zoom") {
    const g = groups.find((g) => g.getElementsByTagName("title")[0].textContent.split("\n")[0] === arg);
    click(g);
  } else if (verb === "search") { answer = arg; click(byId.search); }
  else if (verb === "reset") click(byId.reset);
  else if (verb === "escape") keyListeners.forEach((f) => f({key: "Escape", preventDefault() {}}));
  show(cmd);
}
