#!/usr/bin/env python3
"""html_check.py: render r2cache's inventory HTML in headless Chromium and
check it: the DOM Chromium built (rows, cells with their status class, chunk
count, provisional outline, gap dots, tooltips, group headings, row and group
percentages, freshness, the generated-at/store line, date ticks that do not
overlap), a day's 144-window detail strip as the page's script draws it (the
page opened at #day=CHAN@DATE), and screenshots that are not blank (the grid's
and the strip's colours are really painted), kept in --artefacts.

Exit 0 when every check passes; otherwise print what failed and exit 1.
Python stdlib only (PNG decoded with zlib).
"""
import argparse
import calendar
import html.parser
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
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
        self.pct = {}           # chan -> text
        self.grp_pct = {}       # group -> text
        self.fresh = {}         # chan -> (text, data-newest)
        self.generated = None   # (text, data-generated)
        self.detail = None      # attrs of #detail
        self.windows = []       # classes of the strip's windows, in order
        self.grid_attrs = {}
        self.cap = None         # (dict, key, attr) collecting text

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = a.get("class", "").split()
        if tag == "svg" and a.get("id") == "grid":
            self.grid_attrs = a
        elif tag == "p" and a.get("id") == "generated":
            self.cap = ["gen", a.get("data-generated"), ""]
        elif tag == "div" and a.get("id") == "detail":
            self.detail = a
        elif tag == "div" and a.get("id") == "detail-title":
            self.cap = ["dtitle", None, ""]
        elif tag == "span" and "w" in cls:
            self.windows.append([c for c in cls if c != "w"][0])
        elif tag == "text" and "pct" in cls:
            self.cap = ["pct", self.chan, ""]
        elif tag == "text" and "grp-pct" in cls:
            self.cap = ["grp-pct", a.get("data-group"), ""]
            return
        elif tag == "text" and "fresh" in cls:
            self.cap = ["fresh", (self.chan, a.get("data-newest")), ""]
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
        if self.cap and tag in ("p", "div", "text"):
            kind, key, text = self.cap
            self.cap = None
            if kind == "gen":
                self.generated = (text, key)
            elif kind == "dtitle":
                self.detail_title = text
            elif kind == "pct":
                self.pct[key] = text
            elif kind == "grp-pct":
                self.grp_pct[key] = text
            elif kind == "fresh":
                self.fresh[key[0]] = (text, key[1])
            return
        if tag == "title":
            self.in_title = None
        elif tag == "g":
            self.chan = None
        elif tag == "text" and self.in_group:
            self.groups.append(self.text.strip())
            self.in_group = False

    def handle_data(self, data):
        if self.cap:
            self.cap[2] += data
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


def age_text(age):
    """The page's age wording (report_html.c age_text)."""
    if age < 0:
        return "in the future"
    if age < 3600:
        return "%d min" % (age // 60)
    if age < 2 * 86400:
        return "%.1f h" % (age / 3600.0)
    return "%.1f d" % (age / 86400.0)


def colour_count(path, ref):
    w, h, bpp, rows = png_pixels(path)
    colours, hit = {}, 0
    for y in range(0, h, 2):
        line = rows[y]
        for x in range(0, w, 2):
            px = tuple(line[x * bpp:x * bpp + 3])
            colours[px] = colours.get(px, 0) + 1
    for c, n in colours.items():
        if all(abs(c[i] - ref[i]) <= 6 for i in range(3)):
            hit += n
    return w, h, len(colours), hit


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
    ap.add_argument("--row-pct", action="append", default=[], help="CHAN|TEXT (exact)")
    ap.add_argument("--group-pct", action="append", default=[], help="GROUP|TEXT (exact)")
    ap.add_argument("--fresh", action="append", default=[], help="CHAN|NEWEST-ISO")
    ap.add_argument("--store", help="text the generated-at line must name")
    ap.add_argument("--detail", action="append", default=[],
                    help="CHAN|DATE|PRESENT|MISSING|SOURCE_EMPTY")
    ap.add_argument("--artefacts", help="directory for the screenshots")
    ap.add_argument("--generated-now", action="store_true",
                    help="the page must have been generated within the last 10 minutes")
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

    for spec in a.row_pct:
        ch, text = spec.split("|", 1)
        if g.pct.get(ch) != text:
            fails.append("row %s availability %r, expected %r" % (ch, g.pct.get(ch), text))
    for spec in a.group_pct:
        grp, text = spec.split("|", 1)
        if g.grp_pct.get(grp) != text:
            fails.append("group %s availability %r, expected %r" % (grp, g.grp_pct.get(grp), text))
    gen_t = None
    if not g.generated or not g.generated[1]:
        fails.append("no generated-at line (p#generated with data-generated)")
    else:
        gen_t = int(g.generated[1])
        iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(gen_t))
        want = "Generated %s from %s" % (iso, a.store) if a.store else None
        if want and g.generated[0] != want:
            fails.append("generated line %r, expected %r" % (g.generated[0], want))
        if a.generated_now and abs(time.time() - gen_t) > 600:
            fails.append("generated at %s, not now" % iso)
    for spec in a.fresh:
        ch, newest = spec.split("|", 1)
        text, attr = g.fresh.get(ch, ("", None))
        nt = calendar.timegm(time.strptime(newest, "%Y-%m-%dT%H:%M:%SZ"))
        if attr != str(nt):
            fails.append("row %s newest %r, expected %d (%s)" % (ch, attr, nt, newest))
        elif gen_t is not None:
            want = "%s (%s old)" % (newest, age_text(gen_t - nt))
            if text != want:
                fails.append("row %s freshness %r, expected %r" % (ch, text, want))
    if g.grid_attrs.get("data-tick-overlaps") != "0":
        fails.append("date ticks overlap (or were not measured): %r"
                     % g.grid_attrs.get("data-tick-overlaps"))

    art = a.artefacts or a.workdir
    os.makedirs(art, exist_ok=True)
    try:
        gw = int(g.grid_attrs.get("width", "1200"))
    except ValueError:
        gw = 1200
    win = "--window-size=%d,700" % max(1200, min(gw + 60, 4000))
    for spec in a.detail:
        ch, d, npres, nmiss, nse = spec.split("|")
        durl = url + "#day=" + ch + "@" + d
        rc, dom2, err = run_chromium(a.chromium, ["--dump-dom"], durl, a.workdir)
        dg = Grid()
        dg.feed(dom2)
        det = dg.detail or {}
        if det.get("data-chan") != ch or det.get("data-date") != d:
            fails.append("detail of %s %s not shown (detail %r, exit %d %s)"
                         % (ch, d, det, rc, err[-500:]))
            continue
        got = (dg.windows.count("present"), dg.windows.count("missing"),
               dg.windows.count("source-empty"))
        want = (int(npres), int(nmiss), int(nse))
        if len(dg.windows) != 144 or got != want:
            fails.append("detail %s %s: %d windows, present/missing/source-empty %s, expected %s"
                         % (ch, d, len(dg.windows), got, want))
        wt = ("%s %s: %d of 144 ten-minute windows cached, %d not cached, %d never recorded "
              "at the source" % ((ch, d) + want))
        if getattr(dg, "detail_title", None) != wt:
            fails.append("detail title %r, expected %r" % (getattr(dg, "detail_title", None), wt))
        shot = os.path.join(art, "detail-%s-%s.png" % (ch.replace(".", "_"), d))
        if os.path.exists(shot):
            os.unlink(shot)
        rc, _o, err = run_chromium(a.chromium, ["--screenshot=" + shot, win], durl, a.workdir)
        if rc != 0 or not os.path.exists(shot):
            fails.append("chromium --screenshot of the detail failed (exit %d): %s" % (rc, err[-500:]))
            continue
        refs = {"present": (0x2e, 0x7d, 0x32), "missing": (0xe5, 0x39, 0x35),
                "source-empty": (0x90, 0xa4, 0xae)}
        for kind, n in zip(("present", "missing", "source-empty"), want):
            _w, _h, _n, px = colour_count(shot, refs[kind])
            if n and px < 4:
                fails.append("detail screenshot %s shows no %s colour" % (shot, kind))
        print("screenshot (detail %s %s): %s" % (ch, d, shot))

    shot = os.path.join(art, "inventory.png")
    if os.path.exists(shot):
        os.unlink(shot)
    rc, _out, err = run_chromium(a.chromium, ["--screenshot=" + shot, win], url, a.workdir)
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
        print("screenshot %dx%d: %d colours, %d complete-green samples: %s"
              % (w, h, len(colours), green, shot))
    for f in fails:
        print("FAIL:", f)
    print("cells: %d, rows: %s" % (len(g.cells), g.rows))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
