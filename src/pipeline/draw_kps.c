/*
 * draw_kps.c - the keypoint image, with OpenCV 4.x's drawing rules rewritten in C.
 *
 * What has to match OpenCV exactly (all integer or float-exact):
 *   - ellipse2Poly uses a table of sines at whole degrees stored as float literals
 *     with 7 decimals; we rebuild it by printing sin(k deg) with 7 decimals and
 *     reading the text back as a float (the same value the literal has), then
 *     evaluate the points in double and round half to even (cvRound);
 *   - fillConvexPoly (shift 0, 8-connected): first the polygon's outline is drawn
 *     with Bresenham lines (LineIterator, left to right, endpoints clipped with
 *     clipLine), then the inside is scanned from the top vertex with two edges in
 *     16.16 fixed point, each scanline from round(x_left) to round(x_right);
 *   - circle (filled, 8-connected) is the midpoint algorithm filling horizontal
 *     spans between the octant points.
 * The canvas holds a colour index per pixel while the ellipses are drawn; the 0.6
 * multiply and truncation are applied to the colour when writing RGB.
 */
#include "pipeline/draw_kps.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XY_SHIFT 16
#define XY_ONE (1 << XY_SHIFT)
#define POLY_MAX 362

static const uint8_t kps_colors[IID_KPS_COUNT][3] = {
    {255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 0}, {255, 0, 255}};
static const int kps_limbs[4][2] = {{0, 2}, {1, 2}, {3, 2}, {4, 2}};

/* A canvas of colour labels: 0 = untouched, else colour index + 1. */
typedef struct canvas {
    int w, h;
    uint8_t *label;
} canvas_t;

static void put(canvas_t *c, int x, int y, uint8_t v) { c->label[(size_t)y * c->w + x] = v; }

static void hline(canvas_t *c, int y, int x1, int x2, uint8_t v)
{
    for (int x = x1; x <= x2; x++) put(c, x, y, v);
}

/* ---- sines at whole degrees, as OpenCV's float table holds them ------------------ */

static void sin_table(float table[451])
{
    for (int k = 0; k <= 450; k++) {
        char text[32];
        snprintf(text, sizeof text, "%.7f", sin((double)k * (3.14159265358979323846 / 180.0)));
        table[k] = strtof(text, NULL);
    }
}

/* cvRound: nearest, ties to even (the FPU's default mode). */
static int cv_round(double v) { return (int)lrint(v); }

int iid__ellipse_poly(int cx, int cy, int axis_w, int axis_h, int angle_deg, int *pts)
{
    float table[451];
    sin_table(table);
    while (angle_deg < 0) angle_deg += 360;
    while (angle_deg > 360) angle_deg -= 360;
    float alpha = table[450 - angle_deg], beta = table[angle_deg]; /* cos, sin */
    int n = 0, px = 0, py = 0;
    for (int a = 0; a <= 360; a++) {
        double x = (double)axis_w * table[450 - a];
        double y = (double)axis_h * table[a];
        int rx = cv_round((double)cx + x * alpha - y * beta);
        int ry = cv_round((double)cy + x * beta + y * alpha);
        if (n == 0 || rx != px || ry != py) {
            pts[2 * n] = rx, pts[2 * n + 1] = ry;
            px = rx, py = ry;
            n++;
        }
    }
    if (n == 1) {
        pts[0] = pts[2] = cx;
        pts[1] = pts[3] = cy;
        n = 2;
    }
    return n;
}

/* ---- lines: clipLine + LineIterator (8-connected, left to right) ----------------- */

/* Clip the segment to [0, w-1] x [0, h-1]; false when nothing is left. */
static int clip_line(int64_t w, int64_t h, int64_t *x1, int64_t *y1, int64_t *x2, int64_t *y2)
{
    int64_t right = w - 1, bottom = h - 1;
    int c1 = (*x1 < 0) + (*x1 > right) * 2 + (*y1 < 0) * 4 + (*y1 > bottom) * 8;
    int c2 = (*x2 < 0) + (*x2 > right) * 2 + (*y2 < 0) * 4 + (*y2 > bottom) * 8;
    if ((c1 & c2) == 0 && (c1 | c2) != 0) {
        int64_t a;
        if (c1 & 12) {
            a = c1 < 8 ? 0 : bottom;
            *x1 += (int64_t)((double)(a - *y1) * (double)(*x2 - *x1) / (double)(*y2 - *y1));
            *y1 = a;
            c1 = (*x1 < 0) + (*x1 > right) * 2;
        }
        if (c2 & 12) {
            a = c2 < 8 ? 0 : bottom;
            *x2 += (int64_t)((double)(a - *y2) * (double)(*x2 - *x1) / (double)(*y2 - *y1));
            *y2 = a;
            c2 = (*x2 < 0) + (*x2 > right) * 2;
        }
        if ((c1 & c2) == 0 && (c1 | c2) != 0) {
            if (c1) {
                a = c1 == 1 ? 0 : right;
                *y1 += (int64_t)((double)(a - *x1) * (double)(*y2 - *y1) / (double)(*x2 - *x1));
                *x1 = a;
                c1 = 0;
            }
            if (c2) {
                a = c2 == 1 ? 0 : right;
                *y2 += (int64_t)((double)(a - *x2) * (double)(*y2 - *y1) / (double)(*x2 - *x1));
                *x2 = a;
                c2 = 0;
            }
        }
    }
    return (c1 | c2) == 0;
}

static void draw_line(canvas_t *c, int x1, int y1, int x2, int y2, uint8_t v)
{
    if ((unsigned)x1 >= (unsigned)c->w || (unsigned)x2 >= (unsigned)c->w || (unsigned)y1 >= (unsigned)c->h ||
        (unsigned)y2 >= (unsigned)c->h) {
        int64_t a = x1, b = y1, p = x2, q = y2;
        if (!clip_line(c->w, c->h, &a, &b, &p, &q)) return;
        x1 = (int)a, y1 = (int)b, x2 = (int)p, y2 = (int)q;
    }
    int dx = x2 - x1, dy = y2 - y1;
    int sx = 1, sy = 1;
    int x = x1, y = y1;
    if (dx < 0) { /* left to right: start from the other end */
        dx = -dx;
        dy = -dy;
        x = x2, y = y2;
    }
    if (dy < 0) dy = -dy, sy = -1;
    int vert = dy > dx;
    if (vert) {
        int t = dx;
        dx = dy, dy = t;
    }
    int err = dx - (dy + dy), plus = dx + dx, minus = -(dy + dy);
    for (int i = 0; i <= dx; i++) {
        put(c, x, y, v);
        int mask = err < 0 ? -1 : 0;
        err += minus + (plus & mask);
        if (vert) {
            y += sy;
            x += sx & mask;
        } else {
            x += sx;
            y += sy & mask;
        }
    }
}

/* ---- fillConvexPoly, shift 0, 8-connected ---------------------------------------- */

/* floor(v / 2^16): OpenCV's arithmetic right shift, written without shifting
 * negative values. */
static int64_t fixed_floor(int64_t v) { return v >= 0 ? v / XY_ONE : -((-v + XY_ONE - 1) / XY_ONE); }

static void fill_convex_poly(canvas_t *c, const int *v, int npts, uint8_t color)
{
    struct {
        int idx, di;
        int64_t x, dx;
        int ye;
    } edge[2];
    const int64_t delta1 = XY_ONE >> 1, delta2 = XY_ONE >> 1;
    int imin = 0, edges = npts;
    int64_t xmin = v[0], xmax = v[0], ymin = v[1], ymax = v[1];
    int p0x = v[2 * (npts - 1)], p0y = v[2 * (npts - 1) + 1];
    for (int i = 0; i < npts; i++) {
        int px = v[2 * i], py = v[2 * i + 1];
        if (py < ymin) ymin = py, imin = i;
        if (py > ymax) ymax = py;
        if (px > xmax) xmax = px;
        if (px < xmin) xmin = px;
        draw_line(c, p0x, p0y, px, py, color);
        p0x = px, p0y = py;
    }
    if (npts < 3 || (int)xmax < 0 || (int)ymax < 0 || (int)xmin >= c->w || (int)ymin >= c->h) return;
    if (ymax > c->h - 1) ymax = c->h - 1;
    edge[0].idx = edge[1].idx = imin;
    int y = (int)ymin;
    edge[0].ye = edge[1].ye = y;
    edge[0].di = 1;
    edge[1].di = npts - 1;
    edge[0].x = edge[1].x = -XY_ONE;
    edge[0].dx = edge[1].dx = 0;
    do {
        for (int i = 0; i < 2; i++) {
            if (y < edge[i].ye) continue;
            int idx0 = edge[i].idx, di = edge[i].di;
            int idx = idx0 + di;
            if (idx >= npts) idx -= npts;
            for (; edges-- > 0;) {
                int ty = v[2 * idx + 1];
                if (ty > y) {
                    int64_t xs = (int64_t)v[2 * idx0] * XY_ONE, xe = (int64_t)v[2 * idx] * XY_ONE;
                    edge[i].ye = ty;
                    edge[i].dx = ((xe - xs) * 2 + ((int64_t)ty - y)) / (2 * ((int64_t)ty - y));
                    edge[i].x = xs;
                    edge[i].idx = idx;
                    break;
                }
                idx0 = idx;
                idx += di;
                if (idx >= npts) idx -= npts;
            }
        }
        if (edges < 0) break;
        if (y >= 0) {
            int left = edge[0].x > edge[1].x ? 1 : 0, right = 1 - left;
            int xx1 = (int)fixed_floor(edge[left].x + delta1);
            int xx2 = (int)fixed_floor(edge[right].x + delta2);
            if (xx2 >= 0 && xx1 < c->w) {
                if (xx1 < 0) xx1 = 0;
                if (xx2 >= c->w) xx2 = c->w - 1;
                hline(c, y, xx1, xx2, color);
            }
        }
        edge[0].x += edge[0].dx;
        edge[1].x += edge[1].dx;
    } while (++y <= (int)ymax);
}

/* ---- filled circle ----------------------------------------------------------------- */

static void span(canvas_t *c, int y, int x1, int x2, uint8_t v)
{
    if ((unsigned)y >= (unsigned)c->h || x2 < 0 || x1 >= c->w) return;
    hline(c, y, x1 < 0 ? 0 : x1, x2 >= c->w ? c->w - 1 : x2, v);
}

static void fill_circle(canvas_t *c, int cx, int cy, int radius, uint8_t v)
{
    int err = 0, dx = radius, dy = 0, plus = 1, minus = (radius << 1) - 1;
    while (dx >= dy) {
        span(c, cy - dy, cx - dx, cx + dx, v);
        span(c, cy + dy, cx - dx, cx + dx, v);
        span(c, cy - dx, cx - dy, cx + dy, v);
        span(c, cy + dx, cx - dy, cx + dy, v);
        dy++;
        err += plus;
        plus += 2;
        int mask = (err <= 0) - 1;
        err -= minus & mask;
        dx += mask;
        minus -= mask & 2;
    }
}

/* ---- draw_kps ---------------------------------------------------------------------- */

iid_status iid__draw_kps(const float *kps, int width, int height, uint8_t *out, iid_error_t *err)
{
    if (width < 1 || height < 1 || width > 65536 || height > 65536)
        return iid__fail(err, IID_ERR_INVALID, "draw_kps: image size %dx%d out of range", width, height);
    for (int i = 0; i < 2 * IID_KPS_COUNT; i++)
        if (!isfinite(kps[i]) || fabsf(kps[i]) > 16777216.0f)
            return iid__fail(err, IID_ERR_INVALID, "draw_kps: keypoint coordinate %d is not a usable number", i);
    canvas_t c = {width, height, calloc((size_t)width * height, 1)};
    if (!c.label) return iid__fail(err, IID_ERR_NOMEM, "draw_kps: out of memory for %dx%d", width, height);

    int poly[2 * POLY_MAX];
    for (int l = 0; l < 4; l++) {
        int a = kps_limbs[l][0], b = kps_limbs[l][1];
        float xa = kps[2 * a], ya = kps[2 * a + 1], xb = kps[2 * b], yb = kps[2 * b + 1];
        /* numpy float32: length, mean; Python double: atan2, degrees */
        float ddx = xa - xb, ddy = ya - yb;
        float length = sqrtf(ddx * ddx + ddy * ddy);
        double angle = atan2((double)ddy, (double)ddx) * (180.0 / 3.14159265358979323846);
        float mx = (xa + xb) / 2.0f, my = (ya + yb) / 2.0f;
        int n = iid__ellipse_poly((int)mx, (int)my, (int)(length / 2.0f), 4, (int)angle, poly);
        fill_convex_poly(&c, poly, n, (uint8_t)(a + 1));
    }
    for (size_t p = 0; p < (size_t)width * height; p++) {
        for (int ch = 0; ch < 3; ch++) {
            double v = c.label[p] ? (double)kps_colors[c.label[p] - 1][ch] : 0.0;
            out[3 * p + ch] = (uint8_t)(v * 0.6);
        }
        c.label[p] = 0;
    }
    for (int i = 0; i < IID_KPS_COUNT; i++) fill_circle(&c, (int)kps[2 * i], (int)kps[2 * i + 1], 10, (uint8_t)(i + 1));
    for (size_t p = 0; p < (size_t)width * height; p++)
        if (c.label[p]) memcpy(out + 3 * p, kps_colors[c.label[p] - 1], 3);
    free(c.label);
    return IID_OK;
}
