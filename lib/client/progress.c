/* Progress reports (include/weft/progress.h).
 *
 * Transfer threads only touch a bar's atomic counter; one mutex guards the bar list, notes and
 * stderr. In bars mode a render thread wakes every 100 ms, moves the cursor up over the lines it
 * drew last time and rewrites them: bars that finished since are printed once as permanent lines
 * (the plain-mode line) and scroll away, the running bars (at most RENDER_MAX_ACTIVE) and the
 * total line are redrawn. Each frame is built in memory and written with one write, so the
 * terminal never shows half a frame. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "weft/buf.h"
#include "weft/progress.h"

#define RENDER_PERIOD_NS 100000000L /* at most 10 redraws a second */
#define RENDER_MAX_ACTIVE 10        /* running bars drawn; the rest are summed up in one line */
#define FRAME_CAP (1u << 20)

struct weft_progress_bar {
    weft_progress *p;
    char *label;
    uint64_t total;
    _Atomic uint64_t done;
    _Atomic uint64_t start_ns;   /* when the bar was added (or set, for a resume) */
    _Atomic uint64_t start_done; /* bytes done at start_ns (rate counts only what follows) */
    /* Under p->mu: */
    int finished;
    int printed; /* its final line is on the screen */
    uint64_t end_ns;
    char *note;
};

struct weft_progress {
    int mode;
    char *verb;
    uint64_t start_ns;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    weft_progress_bar **bars; /* under mu */
    size_t n_bars, cap_bars, n_printed;
    int lines_drawn; /* lines of the last bars-mode frame still below the permanent ones */
    int stop;
    int render_started;
    pthread_t render;
};

static uint64_t progress_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* "999 B", "1.2 kB", "3.4 MB", ... (SI units, as the Hub shows sizes). */
static void progress_fmt_bytes(char out[16], double n)
{
    static const char *units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
    size_t u = 0;
    while (n >= 1000.0 && u + 1 < sizeof units / sizeof units[0]) {
        n /= 1000.0;
        u++;
    }
    if (u == 0)
        snprintf(out, 16, "%.0f B", n);
    else
        snprintf(out, 16, "%.1f %s", n, units[u]);
}

static void progress_fmt_eta(char out[16], double seconds)
{
    if (seconds < 0 || seconds > 99.0 * 3600) {
        snprintf(out, 16, "--:--");
        return;
    }
    unsigned s = (unsigned)(seconds + 0.5);
    if (s >= 3600)
        snprintf(out, 16, "%u:%02u:%02u", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(out, 16, "%u:%02u", s / 60, s % 60);
}

static double progress_mb_per_s(uint64_t bytes, double seconds)
{
    return seconds > 0 ? (double)bytes / 1e6 / seconds : 0.0;
}

/* The one line of a finished bar: "<label>: <n> bytes in <s> s (<r> MB/s) [note]". */
static int progress_put_final_line(weft_buf *b, const weft_progress_bar *bar)
{
    uint64_t done = atomic_load_explicit(&bar->done, memory_order_relaxed);
    uint64_t start = atomic_load_explicit(&bar->start_ns, memory_order_relaxed);
    uint64_t moved = done - atomic_load_explicit(&bar->start_done, memory_order_relaxed);
    uint64_t end = bar->finished ? bar->end_ns : progress_now_ns();
    double s = end > start ? (double)(end - start) / 1e9 : 0.0;
    int rc = weft_buf_printf(b, "%s: %llu bytes in %.2f s (%.2f MB/s)", bar->label,
                             (unsigned long long)done, s, progress_mb_per_s(moved, s));
    if (rc == 0 && bar->note != NULL)
        rc = weft_buf_printf(b, " [%s]", bar->note);
    else if (rc == 0 && !bar->finished)
        rc = weft_buf_printf(b, " [not finished]");
    if (rc == 0)
        rc = weft_buf_append(b, "\n", 1);
    return rc;
}

static int progress_put_total_line(weft_buf *b, weft_progress *p)
{
    uint64_t bytes = 0;
    for (size_t i = 0; i < p->n_bars; i++)
        bytes += atomic_load_explicit(&p->bars[i]->done, memory_order_relaxed);
    double s = (double)(progress_now_ns() - p->start_ns) / 1e9;
    return weft_buf_printf(b, "%s: %zu file%s, %llu bytes in %.2f s (%.2f MB/s)\n", p->verb,
                           p->n_bars, p->n_bars == 1 ? "" : "s", (unsigned long long)bytes, s,
                           progress_mb_per_s(bytes, s));
}

static void progress_write(const weft_buf *b)
{
    size_t off = 0;
    while (off < b->len) {
        ssize_t w = write(STDERR_FILENO, b->data + off, b->len - off);
        if (w <= 0)
            return; /* best effort: a closed stderr must not stop a transfer */
        off += (size_t)w;
    }
}

/* Label cut to `width` columns, keeping its end (the file name) behind "...". */
static int progress_put_label(weft_buf *b, const char *label, int width)
{
    size_t n = strlen(label);
    if (n <= (size_t)width)
        return weft_buf_printf(b, "%-*s", width, label);
    const char *tail = label + n - (size_t)(width - 3);
    while ((*tail & 0xC0) == 0x80) /* not inside a UTF-8 sequence */
        tail++;
    return weft_buf_printf(b, "...%-*s", width - 3, tail);
}

/* "<label> [####    ]  45% 1.2 MB/2.6 MB  3.4 MB/s ETA 0:07" */
static int progress_put_live_line(weft_buf *b, const char *label, uint64_t done, uint64_t total,
                                  double rate, int label_w, int graph_w)
{
    char d[16], t[16], r[16], eta[16];
    progress_fmt_bytes(d, (double)done);
    progress_fmt_bytes(t, (double)total);
    progress_fmt_bytes(r, rate);
    progress_fmt_eta(eta, total > done && rate > 0 ? (double)(total - done) / rate : -1);
    int rc = weft_buf_append(b, "\r\033[K", 4);
    if (rc == 0)
        rc = progress_put_label(b, label, label_w);
    if (rc == 0 && graph_w > 0) {
        int filled =
            total > 0 ? (int)((done > total ? total : done) * (uint64_t)graph_w / total) : 0;
        rc = weft_buf_printf(b, " [%.*s%*s]", filled, "##############################",
                             graph_w - filled, "");
    }
    if (rc == 0 && total > 0)
        rc = weft_buf_printf(b, " %3u%% %9s/%-9s",
                             (unsigned)(done >= total ? 100 : done * 100 / total), d, t);
    else if (rc == 0)
        rc = weft_buf_printf(b, "    ? %9s/%-9s", d, "?");
    if (rc == 0)
        rc = weft_buf_printf(b, " %9s/s ETA %s\n", r, eta);
    return rc;
}

/* One bars-mode frame; called with p->mu held. `last` prints every remaining bar for good. */
static void progress_render_frame(weft_progress *p, int last)
{
    weft_buf b;
    weft_buf_init(&b, FRAME_CAP);
    int rc = 0;
    if (p->lines_drawn > 0)
        rc = weft_buf_printf(&b, "\033[%dA\r", p->lines_drawn);
    for (size_t i = 0; rc == 0 && i < p->n_bars; i++) {
        weft_progress_bar *bar = p->bars[i];
        if (bar->printed || (!bar->finished && !last))
            continue;
        rc = weft_buf_append(&b, "\r\033[K", 4);
        if (rc == 0)
            rc = progress_put_final_line(&b, bar);
        if (rc == 0) {
            bar->printed = 1;
            p->n_printed++;
        }
    }
    struct winsize ws;
    int cols = ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 ? ws.ws_col : 80;
    /* Everything but the label and the graph takes 49 columns; keep one spare so no line wraps
     * (a wrapped line would break the cursor-up count). */
    int label_w = cols - 50, graph_w = 0;
    if (label_w >= 62) {
        graph_w = 20;
        label_w -= graph_w + 3;
    }
    label_w = label_w < 8 ? 8 : label_w > 40 ? 40 : label_w;
    uint64_t now = progress_now_ns(), all_done = 0, all_total = 0, all_moved = 0;
    int unknown_total = 0, lines = 0;
    size_t n_active = 0;
    for (size_t i = 0; rc == 0 && i < p->n_bars; i++) {
        weft_progress_bar *bar = p->bars[i];
        uint64_t done = atomic_load_explicit(&bar->done, memory_order_relaxed);
        all_done += done;
        all_moved += done - atomic_load_explicit(&bar->start_done, memory_order_relaxed);
        all_total += bar->total > done ? bar->total : done;
        unknown_total |= bar->total == 0 && !bar->finished;
        if (bar->printed || last || n_active++ >= RENDER_MAX_ACTIVE)
            continue;
        uint64_t start = atomic_load_explicit(&bar->start_ns, memory_order_relaxed);
        uint64_t moved = done - atomic_load_explicit(&bar->start_done, memory_order_relaxed);
        double rate = now > start ? (double)moved * 1e9 / (double)(now - start) : 0;
        rc = progress_put_live_line(&b, bar->label, done, bar->total, rate, label_w, graph_w);
        lines++;
    }
    if (rc == 0 && n_active > RENDER_MAX_ACTIVE) {
        rc = weft_buf_printf(&b, "\r\033[K... and %zu more\n", n_active - RENDER_MAX_ACTIVE);
        lines++;
    }
    if (rc == 0 && last) {
        rc = weft_buf_append(&b, "\r\033[K", 4);
        if (rc == 0)
            rc = progress_put_total_line(&b, p);
    } else if (rc == 0) {
        double rate = now > p->start_ns ? (double)all_moved * 1e9 / (double)(now - p->start_ns) : 0;
        char label[64];
        snprintf(label, sizeof label, "%s %zu/%zu files", p->verb, p->n_printed, p->n_bars);
        rc = progress_put_live_line(&b, label, all_done, unknown_total ? 0 : all_total, rate,
                                    label_w, graph_w);
        lines++;
    }
    if (rc == 0 && p->lines_drawn > lines)
        rc = weft_buf_append(&b, "\033[J", 3); /* clear what the longer last frame left below */
    if (rc == 0) {
        progress_write(&b);
        p->lines_drawn = last ? 0 : lines;
    }
    weft_buf_dispose(&b);
}

static void *progress_render_main(void *arg)
{
    weft_progress *p = arg;
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += RENDER_PERIOD_NS;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        /* Sleep the whole period even when woken early: at most 10 frames a second. */
        while (!p->stop && pthread_cond_timedwait(&p->wake, &p->mu, &until) == 0)
            ;
        if (!p->stop && p->n_bars > 0)
            progress_render_frame(p, 0);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int weft_progress_new(weft_progress **out, int mode, const char *verb)
{
    *out = NULL;
    if (mode < WEFT_PROGRESS_AUTO || mode > WEFT_PROGRESS_QUIET)
        return weft_err_set(WEFT_EINVALID, "progress: unknown mode %d", mode);
    if (mode == WEFT_PROGRESS_AUTO) {
        const char *term = getenv("TERM");
        int tty = isatty(STDERR_FILENO) && (term == NULL || strcmp(term, "dumb") != 0);
        mode = tty ? WEFT_PROGRESS_BARS : WEFT_PROGRESS_PLAIN;
    }
    weft_progress *p = calloc(1, sizeof *p);
    if (p == NULL)
        return weft_err_set(WEFT_ENOMEM, "progress: out of memory");
    p->verb = strdup(verb != NULL ? verb : "transfer");
    if (p->verb == NULL) {
        free(p);
        return weft_err_set(WEFT_ENOMEM, "progress: out of memory");
    }
    p->mode = mode;
    p->start_ns = progress_now_ns();
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    if (mode == WEFT_PROGRESS_BARS) {
        if (pthread_create(&p->render, NULL, progress_render_main, p) == 0)
            p->render_started = 1;
        else
            p->mode = WEFT_PROGRESS_PLAIN; /* no thread: still report, line by line */
    }
    *out = p;
    return 0;
}

void weft_progress_free(weft_progress *p)
{
    if (p == NULL)
        return;
    if (p->render_started) {
        pthread_mutex_lock(&p->mu);
        p->stop = 1;
        pthread_cond_signal(&p->wake);
        pthread_mutex_unlock(&p->mu);
        pthread_join(p->render, NULL);
    }
    pthread_mutex_lock(&p->mu);
    if (p->mode == WEFT_PROGRESS_BARS) {
        progress_render_frame(p, 1);
    } else if (p->mode == WEFT_PROGRESS_PLAIN) {
        weft_buf b;
        weft_buf_init(&b, FRAME_CAP);
        if (progress_put_total_line(&b, p) == 0)
            progress_write(&b);
        weft_buf_dispose(&b);
    }
    pthread_mutex_unlock(&p->mu);
    for (size_t i = 0; i < p->n_bars; i++) {
        free(p->bars[i]->label);
        free(p->bars[i]->note);
        free(p->bars[i]);
    }
    free(p->bars);
    free(p->verb);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

weft_progress_bar *weft_progress_add(weft_progress *p, const char *label, uint64_t total)
{
    if (p == NULL)
        return NULL;
    weft_progress_bar *bar = calloc(1, sizeof *bar);
    if (bar == NULL)
        return NULL;
    bar->p = p;
    bar->total = total;
    bar->label = strdup(label != NULL ? label : "");
    atomic_init(&bar->done, 0);
    atomic_init(&bar->start_done, 0);
    atomic_init(&bar->start_ns, progress_now_ns());
    if (bar->label == NULL) {
        free(bar);
        return NULL;
    }
    pthread_mutex_lock(&p->mu);
    if (p->n_bars == p->cap_bars) {
        size_t cap = p->cap_bars ? p->cap_bars * 2 : 16;
        weft_progress_bar **bars = realloc(p->bars, cap * sizeof *bars);
        if (bars == NULL) {
            pthread_mutex_unlock(&p->mu);
            free(bar->label);
            free(bar);
            return NULL;
        }
        p->bars = bars;
        p->cap_bars = cap;
    }
    p->bars[p->n_bars++] = bar;
    pthread_mutex_unlock(&p->mu);
    return bar;
}

void weft_progress_advance(weft_progress_bar *b, uint64_t n)
{
    if (b != NULL)
        atomic_fetch_add_explicit(&b->done, n, memory_order_relaxed);
}

void weft_progress_set(weft_progress_bar *b, uint64_t done)
{
    if (b == NULL)
        return;
    atomic_store_explicit(&b->done, done, memory_order_relaxed);
    atomic_store_explicit(&b->start_done, done, memory_order_relaxed);
    atomic_store_explicit(&b->start_ns, progress_now_ns(), memory_order_relaxed);
}

void weft_progress_finish(weft_progress_bar *b, const char *note)
{
    if (b == NULL)
        return;
    weft_progress *p = b->p;
    pthread_mutex_lock(&p->mu);
    if (!b->finished) {
        b->finished = 1;
        b->end_ns = progress_now_ns();
        if (note != NULL)
            b->note = strdup(note); /* NULL on out of memory: the line loses its note */
        if (p->mode == WEFT_PROGRESS_PLAIN) {
            weft_buf buf;
            weft_buf_init(&buf, FRAME_CAP);
            if (progress_put_final_line(&buf, b) == 0)
                progress_write(&buf);
            weft_buf_dispose(&buf);
            b->printed = 1;
            p->n_printed++;
        }
    }
    pthread_mutex_unlock(&p->mu);
}
