/**
 * Draws a small log-x line chart as SVG and renders it to PNG with Debian's Chromium (the same
 * browser the tests drive), so the docs can show how a cost grows with size without a plotting
 * dependency.
 */
import { writeFile } from 'node:fs/promises'
import { launchBrowser } from '../browser/helpers.js'

export interface Series {
  name: string
  color: string
  points: { x: number; y: number }[]
}

const W = 720
const H = 400
const M = { left: 70, right: 170, top: 40, bottom: 60 }

/** The chart as an SVG document: x on a log scale (one tick per decade), y linear from 0. */
export function lineChart(title: string, xLabel: string, yLabel: string, series: Series[]): string {
  const xs = series.flatMap((s) => s.points.map((p) => p.x))
  const ys = series.flatMap((s) => s.points.map((p) => p.y))
  const [x0, x1] = [Math.log10(Math.min(...xs)), Math.log10(Math.max(...xs))]
  const yMax = niceMax(Math.max(...ys))
  const px = (x: number) => M.left + ((Math.log10(x) - x0) / (x1 - x0)) * (W - M.left - M.right)
  const py = (y: number) => H - M.bottom - (y / yMax) * (H - M.top - M.bottom)
  const parts: string[] = []
  for (let d = Math.ceil(x0); d <= x1; d++) {
    const x = px(10 ** d)
    const label =
      10 ** d >= 1e6 ? `${10 ** (d - 6)}M` : 10 ** d >= 1e3 ? `${10 ** (d - 3)}k` : `${10 ** d}`
    parts.push(`<line x1="${x}" y1="${M.top}" x2="${x}" y2="${H - M.bottom}" stroke="#ddd"/>`)
    parts.push(`<text x="${x}" y="${H - M.bottom + 20}" text-anchor="middle">${label}</text>`)
  }
  for (let i = 0; i <= 5; i++) {
    const y = py((yMax * i) / 5)
    parts.push(`<line x1="${M.left}" y1="${y}" x2="${W - M.right}" y2="${y}" stroke="#eee"/>`)
    parts.push(
      `<text x="${M.left - 8}" y="${y + 4}" text-anchor="end">${round((yMax * i) / 5)}</text>`,
    )
  }
  series.forEach((s, i) => {
    const path = s.points.map((p) => `${px(p.x)},${py(p.y)}`).join(' ')
    parts.push(`<polyline points="${path}" fill="none" stroke="${s.color}" stroke-width="2.5"/>`)
    for (const p of s.points) {
      parts.push(`<circle cx="${px(p.x)}" cy="${py(p.y)}" r="4" fill="${s.color}"/>`)
    }
    const ly = M.top + 10 + i * 22
    parts.push(
      `<rect x="${W - M.right + 16}" y="${ly - 9}" width="14" height="4" fill="${s.color}"/>`,
    )
    parts.push(`<text x="${W - M.right + 36}" y="${ly - 3}">${s.name}</text>`)
  })
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="13">
<rect width="100%" height="100%" fill="white"/>
<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${title}</text>
<line x1="${M.left}" y1="${H - M.bottom}" x2="${W - M.right}" y2="${H - M.bottom}" stroke="#333"/>
<line x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${H - M.bottom}" stroke="#333"/>
<text x="${(M.left + W - M.right) / 2}" y="${H - 15}" text-anchor="middle">${xLabel}</text>
<text transform="translate(18 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle">${yLabel}</text>
${parts.join('\n')}
</svg>`
}

/** Renders `svg` to a PNG file. */
export async function renderPng(svg: string, file: URL): Promise<void> {
  const browser = await launchBrowser()
  try {
    const page = await browser.context.newPage()
    await page.setViewportSize({ width: W, height: H })
    await page.setContent(`<body style="margin:0">${svg}</body>`)
    await writeFile(file, await page.screenshot({ clip: { x: 0, y: 0, width: W, height: H } }))
  } finally {
    await browser.close()
  }
}

function niceMax(v: number): number {
  const step = 10 ** Math.floor(Math.log10(v))
  return Math.ceil((v * 1.1) / step) * step
}

function round(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(1)
}
