#!/usr/bin/env python3
"""html_check.py: render r2cache's inventory HTML in headless Chromium and
check it: the DOM Chromium built (rows, cells with their status class, chunk
count, provisional outline, gap dots, tooltips, group headings) and a
screenshot that is not blank (the grid's colours are really painted).

Exit 0 when every check passes; otherwise print what failed and exit 1.
Python stdlib only (PNG decoded with zlib).
"""
import argparse
import html.parser
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--disable-quic", "--hide-scrollbars"]


def run_chromium(chrome, extra, url, workdir):
    prof = tempfile.mkdtemp(prefix="chromium-profile-", dir=workdir)
    try:
        cmd = [chrome] + FLAGS + ["--user-data-dir=" + prof] + extra + [url]
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120,
                           cwd=workdir)
        return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
    finally:
        shutil.rmtree(prof, ignore_errors=True)


class Grid(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows = []          # data-chan in order
        self.cells = {}         # (chan, date) -> attrs
        self.gaps = set()
        self.groups = []
        self.chan = None
        self.in_title = None
        self.in_group = False
        self.text = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "g" and "row" in a.get("class", "").split():
            self.chan = a.get("data-chan")
            self.rows.append(self.chan)
        elif tag == "rect" and "cell" in a.get("class", "").split():
            a["title"] = ""
            self.cells[(self.chan, a.get("data-date"))] = a
            self.last = a
        elif tag == "title" and self.chan:
            self.in_title = self.last
        elif tag == "circle" and "gap" in a.get("class", ""):
            self.gaps.add((self.chan, a.get("data-date")))
        elif tag == "text" and "grp" in a.get("class", ""):
            self.in_group = True
            self.text = ""

    def handle_endtag(self, tag):
        if tag == "title":
            self.in_title = None
        elif tag == "g":
            self.chan = None
        elif tag == "text" and self.in_group:
            self.groups.append(self.text.strip())
            self.in_group = False

    def handle_data(self, data):
        if self.in_title is not None:
            self.in_title["title"] += data
        if self.in_group:
            self.text += data


def png_pixels(path):
    """Decode an 8-bit non-interlaced RGB/RGBA PNG: (width, height, rows of tuples)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, w = 8, b"", None
    while pos < len(data):
        n, typ = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if typ == b"IHDR":
            w, h, depth, ctype, _, _, inter = struct.unpack(">IIBBBBB", body)
            if depth != 8 or ctype not in (2, 6) or inter:
                raise ValueError("unsupported PNG kind %d/%d/%d" % (depth, ctype, inter))
            bpp = 3 if ctype == 2 else 4
        elif typ == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev, i = [], bytearray(stride), 0
    for _ in range(h):
        ft = raw[i]
        line = bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if ft == 1:
                line[x] = (line[x] + a) & 255
            elif ft == 2:
                line[x] = (line[x] + b) & 255
            elif ft == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif ft == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + pr) & 255
        rows.append(line)
        prev = line
    return w, h, bpp, rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--chromium", required=True)
    ap.add_argument("--html", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--expect-rows", type=int)
    ap.add_argument("--expect-days", type=int)
    ap.add_argument("--cell", action="append", default=[], help="CHAN|DATE|STATUS|CHUNKS")
    ap.add_argument("--provisional", action="append", default=[], help="CHAN|DATE")
    ap.add_argument("--gap", action="append", default=[], help="CHAN|DATE")
    ap.add_argument("--tooltip", action="append", default=[], help="CHAN|DATE|TEXT")
    ap.add_argument("--group", action="append", default=[])
    a = ap.parse_args()
    url = "file://" + os.path.abspath(a.html)
    fails = []

    rc, dom, err = run_chromium(a.chromium, ["--dump-dom"], url, a.workdir)
    if rc != 0 or "<svg" not in dom:
        print("chromium --dump-dom failed (exit %d): %s" % (rc, err[-2000:]))
        return 1
    g = Grid()
    g.feed(dom)
    if a.expect_rows is not None and len(g.rows) != a.expect_rows:
        fails.append("rows: %d, expected %d (%s)" % (len(g.rows), a.expect_rows, g.rows))
    if a.expect_days is not None:
        for ch in g.rows:
            n = sum(1 for (c, _d) in g.cells if c == ch)
            if n != a.expect_days:
                fails.append("%s has %d day cells, expected %d" % (ch, n, a.expect_days))
    for spec in a.cell:
        ch, d, status, chunks = spec.split("|")
        c = g.cells.get((ch, d))
        if not c:
            fails.append("no cell %s %s" % (ch, d))
            continue
        if status not in c.get("class", "").split():
            fails.append("cell %s %s: class %r, expected %s" % (ch, d, c.get("class"), status))
        if c.get("data-chunks") != chunks:
            fails.append("cell %s %s: %s chunks, expected %s" % (ch, d, c.get("data-chunks"), chunks))
        if not c.get("fill", "").startswith("#"):
            fails.append("cell %s %s has no fill colour" % (ch, d))
    for spec in a.provisional:
        ch, d = spec.split("|")
        c = g.cells.get((ch, d), {})
        if "provisional" not in c.get("class", "").split() or not c.get("stroke"):
            fails.append("cell %s %s not drawn provisional" % (ch, d))
    provisional = {k for k, c in g.cells.items() if "provisional" in c.get("class", "").split()}
    want_prov = {tuple(s.split("|")) for s in a.provisional}
    if provisional != want_prov:
        fails.append("provisional cells %s, expected %s" % (sorted(provisional), sorted(want_prov)))
    want_gaps = {tuple(s.split("|")) for s in a.gap}
    if g.gaps != want_gaps:
        fails.append("gap dots %s, expected %s" % (sorted(g.gaps), sorted(want_gaps)))
    for spec in a.tooltip:
        ch, d, text = spec.split("|", 2)
        t = g.cells.get((ch, d), {}).get("title", "")
        if text not in t:
            fails.append("tooltip of %s %s is %r, lacks %r" % (ch, d, t, text))
    for grp in a.group:
        if grp not in g.groups:
            fails.append("group heading %r missing (have %s)" % (grp, g.groups))

    shot = os.path.join(a.workdir, "inventory.png")
    if os.path.exists(shot):
        os.unlink(shot)
    rc, _out, err = run_chromium(a.chromium, ["--screenshot=" + shot, "--window-size=1200,600"],
                                 url, a.workdir)
    if rc != 0 or not os.path.exists(shot):
        fails.append("chromium --screenshot failed (exit %d): %s" % (rc, err[-1000:]))
    else:
        w, h, bpp, rows = png_pixels(shot)
        colours = {}
        for y in range(0, h, 2):
            line = rows[y]
            for x in range(0, w, 2):
                px = tuple(line[x * bpp:x * bpp + 3])
                colours[px] = colours.get(px, 0) + 1
        # the grid's greens must be on screen, and more than a blank page's few colours
        def near(c, ref):
            return all(abs(c[i] - ref[i]) <= 6 for i in range(3))
        green = sum(n for c, n in colours.items() if near(c, (0x2e, 0x7d, 0x32)))
        if len(colours) < 5:
            fails.append("screenshot looks blank: %d colours" % len(colours))
        if green < 20:
            fails.append("screenshot shows no complete-day green cells (%d px)" % green)
        print("screenshot %dx%d: %d colours, %d complete-green samples" % (w, h, len(colours), green))
    for f in fails:
        print("FAIL:", f)
    print("cells: %d, rows: %s" % (len(g.cells), g.rows))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
