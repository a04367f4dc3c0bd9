/**
 * Plots drawn in Node, with no browser: a Vega-Lite spec compiled to Vega and rendered to SVG by
 * a headless Vega view, then to PNG by resvg (Rust, from npm alone). The same specs the page
 * embeds, so a PNG shows what the report shows.
 */
import { Resvg } from '@resvg/resvg-js';
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { Spec } from './spec-base.js';

/** The SVG text of a chart. */
export async function specToSvg(spec: Spec): Promise<string> {
  const view = new View(parse(compile(spec as unknown as TopLevelSpec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** A PNG of a chart at twice its size (sharp on slides and high-density screens). */
export async function specToPng(spec: Spec): Promise<Buffer> {
  const svg = await specToSvg(spec);
  // System fonts (DejaVu on Debian) draw the text; without any, resvg would leave it out.
  const png = new Resvg(svg, { background: 'white', fitTo: { mode: 'zoom', value: 2 }, font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } }).render().asPng();
  return Buffer.from(png);
}
