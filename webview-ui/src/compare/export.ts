// A plot leaves the webview as SVG text (the element already carries its colours and font) or
// as a PNG drawn from that SVG on a canvas; the host writes either through the save dialog.

/** The element as a standalone SVG document. */
export function svgText(el: SVGSVGElement): string {
  const clone = el.cloneNode(true) as SVGSVGElement;
  clone.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  return `<?xml version="1.0" encoding="UTF-8"?>\n${new XMLSerializer().serializeToString(clone)}\n`;
}

/** The SVG rasterized at `scale` (a data: image, which the CSP's img-src allows), as a PNG data URL. */
export async function svgToPng(el: SVGSVGElement, scale = 2): Promise<string> {
  const width = Number(el.getAttribute('width'));
  const height = Number(el.getAttribute('height'));
  const img = new Image();
  img.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svgText(el))}`;
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = Math.round(width * scale);
  canvas.height = Math.round(height * scale);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('no 2D canvas');
  ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
  return canvas.toDataURL('image/png');
}
