/* The wait estimator's simulation runs, in C: the same runs as the Python loop in
 * ``estimate.WaitEstimator.forecast``, to the last bit.
 *
 * Why: after a call with a thousand waiting, everyone behind is estimated again, and the
 * Python loop (ten runs of a thousand patients) was most of the time a phone waited for its
 * new place.  The figures must not change with the loop that made them (the tests compare
 * both on many queues), so this file copies the Python loop step by step:
 *
 * - each room's random numbers are Python's own ``random.Random`` (Mersenne Twister, the
 *   ``random()`` of CPython's ``_randommodule.c``), handed over with ``getstate()`` after the
 *   room's first call was drawn in Python, and handed back for ``setstate()`` (a newcomer
 *   carried on later draws on from there);
 * - the rooms are taken in the order of (time, room index), as ``heapq`` pops them;
 * - every sum and product is the one Python makes, in the same order (built with
 *   -ffp-contract=off, so no fused multiply-add changes a last bit).
 *
 * ``estimate.py`` uses the Python loop when this module is missing (no compiler where the
 * service was installed): slower, the same figures.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>

#define MT_N 624
#define MT_M 397

typedef struct {
    uint32_t mt[MT_N];
    int index;
} Twister;

static uint32_t genrand(Twister *s) {
    static const uint32_t mag01[2] = {0x0U, 0x9908b0dfU};
    uint32_t y;
    uint32_t *mt = s->mt;
    if (s->index >= MT_N) {
        int kk;
        for (kk = 0; kk < MT_N - MT_M; kk++) {
            y = (mt[kk] & 0x80000000U) | (mt[kk + 1] & 0x7fffffffU);
            mt[kk] = mt[kk + MT_M] ^ (y >> 1) ^ mag01[y & 0x1U];
        }
        for (; kk < MT_N - 1; kk++) {
            y = (mt[kk] & 0x80000000U) | (mt[kk + 1] & 0x7fffffffU);
            mt[kk] = mt[kk + (MT_M - MT_N)] ^ (y >> 1) ^ mag01[y & 0x1U];
        }
        y = (mt[MT_N - 1] & 0x80000000U) | (mt[0] & 0x7fffffffU);
        mt[MT_N - 1] = mt[MT_M - 1] ^ (y >> 1) ^ mag01[y & 0x1U];
        s->index = 0;
    }
    y = mt[s->index++];
    y ^= (y >> 11);
    y ^= (y << 7) & 0x9d2c5680U;
    y ^= (y << 15) & 0xefc60000U;
    y ^= (y >> 18);
    return y;
}

/* random.random(): a double in [0, 1) from two words, as CPython makes it. */
static double rand01(Twister *s) {
    uint32_t a = genrand(s) >> 5, b = genrand(s) >> 6;
    return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
}

/* A Python sequence of floats as a C array (owned by the caller); -1 on error. */
typedef struct {
    double *v;
    Py_ssize_t n;
} Doubles;

static int doubles_of(PyObject *seq, Doubles *out) {
    PyObject *fast = PySequence_Fast(seq, "a sequence of numbers was expected");
    if (fast == NULL) return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    out->n = n;
    out->v = PyMem_Malloc(sizeof(double) * (n ? n : 1));
    if (out->v == NULL) {
        Py_DECREF(fast);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t k = 0; k < n; k++) {
        out->v[k] = PyFloat_AsDouble(PySequence_Fast_GET_ITEM(fast, k));
        if (out->v[k] == -1.0 && PyErr_Occurred()) {
            Py_DECREF(fast);
            return -1;
        }
    }
    Py_DECREF(fast);
    return 0;
}

typedef struct {
    Py_ssize_t n_rooms, n_lines, n_tickets, runs;
    double t0, opens, quiet;
    Doubles breaks; /* a0, b0, a1, b1, ... */
    double *no_show;
    Doubles *blocks, *shapes, *gaps;
    Doubles break_gaps;
    double *room_means; /* n_rooms x n_lines */
    double *leave;
} Sim;

static double next_call(const Sim *S, double t) {
    if (t < S->opens) t = S->opens;
    for (Py_ssize_t k = 0; k + 1 < S->breaks.n; k += 2) {
        double a = S->breaks.v[k], b = S->breaks.v[k + 1];
        if (a <= t && t < b) t = b;
    }
    return t;
}

static double day_add(const Sim *S, double t, double minutes) {
    t = next_call(S, t);
    if (minutes <= 0) return t;
    for (Py_ssize_t k = 0; k + 1 < S->breaks.n; k += 2) {
        double a = S->breaks.v[k], b = S->breaks.v[k + 1];
        if (t < a) {
            if (t + minutes <= a) return t + minutes;
            minutes -= a - t;
            t = b;
        }
    }
    return t + minutes;
}

static int in_break(const Sim *S, double t) {
    for (Py_ssize_t k = 0; k + 1 < S->breaks.n; k += 2) {
        if (S->breaks.v[k] <= t && t < S->breaks.v[k + 1]) return 1;
    }
    return 0;
}

static double pick(Twister *rng, const Doubles *from) {
    return from->v[(Py_ssize_t)(rand01(rng) * (double)from->n)];
}

/* ``rooms_next`` of the Python loop: when room i, calling a patient of line si at t, calls again. */
static double rooms_next(const Sim *S, Twister *rng, Py_ssize_t i, Py_ssize_t si, double t) {
    double busy;
    if (rand01(rng) < S->no_show[si]) {
        busy = pick(rng, &S->blocks[si]);
    } else {
        busy = S->room_means[i * S->n_lines + si] * pick(rng, &S->shapes[si]);
    }
    double end = t + busy;
    double gap;
    if (end >= S->quiet) {
        gap = S->gaps[si].n ? pick(rng, &S->gaps[si]) : 0.0;
        return gap > 0 ? end + gap : end;
    }
    if (S->breaks.n && in_break(S, end)) {
        gap = S->break_gaps.n ? pick(rng, &S->break_gaps) : 0.0;
    } else {
        gap = S->gaps[si].n ? pick(rng, &S->gaps[si]) : 0.0;
    }
    return day_add(S, end, gap);
}

/* Python's max(a, b) and min(a, b): the first unless the second is strictly beyond it. */
#define PY_MAX(a, b) ((b) > (a) ? (b) : (a))
#define PY_MIN(a, b) ((b) < (a) ? (b) : (a))

static int by_value(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* ``_quantile`` at q of n sorted values (n > 1), as ``_deciles`` works it out. */
static double spot(const double *sorted, Py_ssize_t n, double q) {
    double pos = q * (double)(n - 1);
    Py_ssize_t i = (Py_ssize_t)pos;
    if (i >= n - 1) return sorted[n - 1];
    double frac = pos - (double)i;
    return sorted[i] * (1 - frac) + sorted[i + 1] * frac;
}

/* CPython's ``random.seed(n)`` for a whole number ``n >= 0`` (``init_by_array`` of its 32-bit
   words, least significant first), so that a room's numbers start where Python's would. */
static void seed_twister(Twister *t, const uint32_t *key, size_t key_length) {
    uint32_t *mt = t->mt;
    size_t i, j, k;
    mt[0] = 19650218U;
    for (i = 1; i < MT_N; i++) mt[i] = (1812433253U * (mt[i - 1] ^ (mt[i - 1] >> 30)) + (uint32_t)i);
    i = 1;
    j = 0;
    k = (MT_N > key_length ? MT_N : key_length);
    for (; k; k--) {
        mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1664525U)) + key[j] + (uint32_t)j;
        i++;
        j++;
        if (i >= MT_N) {
            mt[0] = mt[MT_N - 1];
            i = 1;
        }
        if (j >= key_length) j = 0;
    }
    for (k = MT_N - 1; k; k--) {
        mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1566083941U)) - (uint32_t)i;
        i++;
        if (i >= MT_N) {
            mt[0] = mt[MT_N - 1];
            i = 1;
        }
    }
    mt[0] = 0x80000000U;
    t->index = MT_N;
}

static int twister_of(PyObject *spec, Twister *out) {
    /* A room's numbers as Python left them: (its seed as little-endian bytes, words drawn since). */
    PyObject *key_bytes;
    Py_ssize_t drawn;
    if (!PyTuple_Check(spec) || !PyArg_ParseTuple(spec, "Sn", &key_bytes, &drawn)) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "(seed bytes, words drawn) was expected");
        return -1;
    }
    Py_ssize_t n = PyBytes_GET_SIZE(key_bytes);
    if (n == 0 || n % 4 != 0 || drawn < 0) {
        PyErr_SetString(PyExc_ValueError, "a seed of whole 32-bit words was expected");
        return -1;
    }
    uint32_t *key = PyMem_Malloc((size_t)n);
    if (key == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    const unsigned char *b = (const unsigned char *)PyBytes_AS_STRING(key_bytes);
    for (Py_ssize_t w = 0; w < n / 4; w++)
        key[w] = (uint32_t)b[4 * w] | (uint32_t)b[4 * w + 1] << 8 | (uint32_t)b[4 * w + 2] << 16 |
                 (uint32_t)b[4 * w + 3] << 24;
    seed_twister(out, key, (size_t)(n / 4));
    PyMem_Free(key);
    for (Py_ssize_t d = 0; d < drawn; d++) genrand(out);
    return 0;
}

static PyObject *state_of(const Twister *t) {
    /* (the 624 words as native 32-bit integers, the index): ``Forecast`` makes a state of it
       for ``Random.setstate`` only if a newcomer is carried on. */
    return Py_BuildValue("(y#i)", (const char *)t->mt, (Py_ssize_t)sizeof(t->mt), t->index);
}

static void free_doubles(Doubles *d, Py_ssize_t n) {
    if (d == NULL) return;
    for (Py_ssize_t k = 0; k < n; k++) PyMem_Free(d[k].v);
    PyMem_Free(d);
}

static Doubles *doubles_list(PyObject *seq, Py_ssize_t n) {
    Doubles *out = PyMem_Calloc(n ? n : 1, sizeof(Doubles));
    if (out == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *item = PySequence_GetItem(seq, k);
        if (item == NULL || doubles_of(item, &out[k]) < 0) {
            Py_XDECREF(item);
            free_doubles(out, n);
            return NULL;
        }
        Py_DECREF(item);
    }
    return out;
}

/* Rows of indexes, each below ``bound``, laid end to end: each row's start and length in
 * ``items`` (``capacity`` at most).  -1, with a ValueError saying ``what``, on one out of range. */
static int flatten(const Doubles *rows, Py_ssize_t n_rows, Py_ssize_t bound, Py_ssize_t capacity, Py_ssize_t *start,
                   Py_ssize_t *len, Py_ssize_t *items, const char *what) {
    Py_ssize_t filled = 0;
    for (Py_ssize_t r = 0; r < n_rows; r++) {
        start[r] = filled;
        len[r] = rows[r].n;
        for (Py_ssize_t k = 0; k < rows[r].n; k++) {
            Py_ssize_t index = (Py_ssize_t)rows[r].v[k];
            if (index < 0 || index >= bound || filled >= capacity) {
                PyErr_SetString(PyExc_ValueError, what);
                return -1;
            }
            items[filled++] = index;
        }
    }
    return 0;
}

static const char run_doc[] =
    "runs(t0, seeds, firsts, room_services, lines, priorities, check_ins, leave, units, no_show,\n"
    "     blocks, room_means, shapes, gaps, break_gaps, breaks, opens, quiet, band_edges, band_shifts)\n"
    "-> ((q10, q50, q90, low, high) per ticket, free per run, (words, index) per run and room)\n\n"
    "The simulation runs of ``WaitEstimator.forecast``; see estimate.py for each argument.";

static PyObject *runs(PyObject *self, PyObject *args) {
    double t0, opens, quiet;
    PyObject *states, *firsts, *room_services, *lines, *priorities, *check_ins, *leave_seq, *units;
    PyObject *no_show_seq, *blocks_seq, *room_means_seq, *shapes_seq, *gaps_seq, *break_gaps_seq, *breaks_seq;
    PyObject *edges_seq, *shifts_seq;
    if (!PyArg_ParseTuple(args, "dOOOOOOOOOOOOOOOddOO", &t0, &states, &firsts, &room_services, &lines, &priorities,
                          &check_ins, &leave_seq, &units, &no_show_seq, &blocks_seq, &room_means_seq, &shapes_seq,
                          &gaps_seq, &break_gaps_seq, &breaks_seq, &opens, &quiet, &edges_seq, &shifts_seq))
        return NULL;

    Sim S = {0};
    S.t0 = t0;
    S.opens = opens;
    S.quiet = quiet;
    S.runs = PySequence_Size(states);
    S.n_rooms = PySequence_Size(room_services);
    S.n_lines = PySequence_Size(lines);
    S.n_tickets = PySequence_Size(priorities);
    if (S.runs < 0 || S.n_rooms < 0 || S.n_lines < 0 || S.n_tickets < 0) return NULL;

    PyObject *result = NULL, *calls_out = NULL, *free_out = NULL, *states_out = NULL;
    Doubles leave = {0}, no_show = {0}, check = {0}, prio = {0}, edges = {0}, shifts = {0};
    Py_ssize_t *line_start = NULL, *line_len = NULL, *line_items = NULL, *pointer = NULL;
    Py_ssize_t *serv_start = NULL, *serv_len = NULL, *serv_items = NULL, *counts = NULL;
    double *times = NULL, *out = NULL, *freeat = NULL;
    char *active = NULL;
    Twister *rngs = NULL;
    PyObject **unit_rows = NULL;

    if (doubles_of(leave_seq, &leave) < 0 || doubles_of(no_show_seq, &no_show) < 0 ||
        doubles_of(check_ins, &check) < 0 || doubles_of(priorities, &prio) < 0 ||
        doubles_of(breaks_seq, &S.breaks) < 0 || doubles_of(break_gaps_seq, &S.break_gaps) < 0 ||
        doubles_of(edges_seq, &edges) < 0 || doubles_of(shifts_seq, &shifts) < 0)
        goto done;
    if (shifts.n != 2 * (edges.n + 1)) {
        PyErr_SetString(PyExc_ValueError, "a (low, high) shift per calibration band was expected");
        goto done;
    }
    S.leave = leave.v;
    S.no_show = no_show.v;
    if ((S.blocks = doubles_list(blocks_seq, S.n_lines)) == NULL) goto done;
    if ((S.shapes = doubles_list(shapes_seq, S.n_lines)) == NULL) goto done;
    if ((S.gaps = doubles_list(gaps_seq, S.n_lines)) == NULL) goto done;
    for (Py_ssize_t si = 0; si < S.n_lines; si++) {
        if (S.blocks[si].n == 0 || S.shapes[si].n == 0) {
            PyErr_SetString(PyExc_ValueError, "every line needs no-show blocks and a shape");
            goto done;
        }
    }
    S.room_means = PyMem_Calloc(S.n_rooms * S.n_lines + 1, sizeof(double));
    if (S.room_means == NULL) goto nomem;
    Doubles *means = doubles_list(room_means_seq, S.n_rooms);
    if (means == NULL) goto done;
    for (Py_ssize_t i = 0; i < S.n_rooms; i++) {
        for (Py_ssize_t si = 0; si < S.n_lines && si < means[i].n; si++) {
            S.room_means[i * S.n_lines + si] = means[i].v[si];
        }
    }
    free_doubles(means, S.n_rooms);

    /* The lines (ticket indexes in call order) and the rooms' services, flattened. */
    line_start = PyMem_Calloc(S.n_lines + 1, sizeof(Py_ssize_t));
    line_len = PyMem_Calloc(S.n_lines + 1, sizeof(Py_ssize_t));
    line_items = PyMem_Calloc(S.n_tickets + 1, sizeof(Py_ssize_t));
    pointer = PyMem_Calloc(S.n_lines + 1, sizeof(Py_ssize_t));
    serv_start = PyMem_Calloc(S.n_rooms + 1, sizeof(Py_ssize_t));
    serv_len = PyMem_Calloc(S.n_rooms + 1, sizeof(Py_ssize_t));
    if (!line_start || !line_len || !line_items || !pointer || !serv_start || !serv_len) goto nomem;
    Doubles *in_line = doubles_list(lines, S.n_lines);
    if (in_line == NULL) goto done;
    int bad = flatten(in_line, S.n_lines, S.n_tickets, S.n_tickets, line_start, line_len, line_items,
                      "a line names a ticket that is not there");
    free_doubles(in_line, S.n_lines);
    if (bad) goto done;
    Doubles *served = doubles_list(room_services, S.n_rooms);
    if (served == NULL) goto done;
    Py_ssize_t total_services = 0;
    for (Py_ssize_t i = 0; i < S.n_rooms; i++) total_services += served[i].n;
    serv_items = PyMem_Calloc(total_services + 1, sizeof(Py_ssize_t));
    bad = serv_items == NULL ? (PyErr_NoMemory(), -1)
                             : flatten(served, S.n_rooms, S.n_lines, total_services, serv_start, serv_len, serv_items,
                                       "a room serves a line that is not there");
    free_doubles(served, S.n_rooms);
    if (bad) goto done;

    /* Each patient's patience draws: rows of Python floats, read in place. */
    unit_rows = PyMem_Calloc(S.n_tickets + 1, sizeof(PyObject *));
    if (unit_rows == NULL) goto nomem;
    for (Py_ssize_t j = 0; j < S.n_tickets; j++) {
        PyObject *row = PySequence_GetItem(units, j);
        if (row == NULL) goto done;
        unit_rows[j] = PySequence_Fast(row, "patience draws must be a sequence");
        Py_DECREF(row);
        if (unit_rows[j] == NULL) goto done;
        if (PySequence_Fast_GET_SIZE(unit_rows[j]) < S.runs) {
            PyErr_SetString(PyExc_ValueError, "fewer patience draws than runs");
            goto done;
        }
    }

    times = PyMem_Calloc(S.n_rooms + 1, sizeof(double));
    freeat = PyMem_Calloc(S.n_rooms + 1, sizeof(double));
    active = PyMem_Calloc(S.n_rooms + 1, 1);
    rngs = PyMem_Calloc(S.n_rooms + 1, sizeof(Twister));
    out = PyMem_Calloc(S.n_tickets * (S.runs ? S.runs : 1) + 1, sizeof(double));
    counts = PyMem_Calloc(S.n_tickets + 1, sizeof(Py_ssize_t));
    free_out = PyList_New(S.runs);
    states_out = PyList_New(S.runs);
    if (!times || !freeat || !active || !rngs || !out || !counts) goto nomem;
    if (free_out == NULL || states_out == NULL) goto done;

    for (Py_ssize_t run = 0; run < S.runs; run++) {
        PyObject *run_states = PySequence_GetItem(states, run);
        PyObject *run_firsts = PySequence_GetItem(firsts, run);
        Doubles first = {0};
        if (run_states == NULL || run_firsts == NULL || doubles_of(run_firsts, &first) < 0 ||
            first.n != S.n_rooms) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "one first call per room was expected");
            Py_XDECREF(run_states);
            Py_XDECREF(run_firsts);
            PyMem_Free(first.v);
            goto done;
        }
        Py_DECREF(run_firsts);
        for (Py_ssize_t i = 0; i < S.n_rooms; i++) {
            PyObject *st = PySequence_GetItem(run_states, i);
            int bad = st == NULL || twister_of(st, &rngs[i]) < 0;
            Py_XDECREF(st);
            if (bad) {
                Py_DECREF(run_states);
                PyMem_Free(first.v);
                goto done;
            }
            times[i] = first.v[i];
            active[i] = 1;
            freeat[i] = 0.0;
        }
        Py_DECREF(run_states);
        PyMem_Free(first.v);
        for (Py_ssize_t si = 0; si < S.n_lines; si++) pointer[si] = 0;
        Py_ssize_t remaining = S.n_tickets;

        while (remaining) {
            /* The room heapq would pop: the least (time, index). */
            Py_ssize_t i = -1;
            for (Py_ssize_t r = 0; r < S.n_rooms; r++) {
                if (active[r] && (i < 0 || times[r] < times[i])) i = r;
            }
            if (i < 0) break;
            double t = times[i];
            active[i] = 0;
            Py_ssize_t best;
            for (;;) {
                best = -1;
                Py_ssize_t best_j = -1;
                for (Py_ssize_t k = 0; k < serv_len[i]; k++) {
                    Py_ssize_t si = serv_items[serv_start[i] + k];
                    if (pointer[si] < line_len[si]) {
                        Py_ssize_t j = line_items[line_start[si] + pointer[si]];
                        /* (priority, check-in, index): the key the Python loop compares. */
                        if (best < 0 || prio.v[j] < prio.v[best_j] ||
                            (prio.v[j] == prio.v[best_j] &&
                             (check.v[j] < check.v[best_j] || (check.v[j] == check.v[best_j] && j < best_j)))) {
                            best = si;
                            best_j = j;
                        }
                    }
                }
                if (best < 0) break;
                Py_ssize_t j = best_j;
                pointer[best] += 1;
                remaining -= 1;
                if (counts[j] < S.runs) out[j * S.runs + counts[j]++] = t - S.t0;
                double rate = S.leave[best];
                if (rate > 0) {
                    double unit = PyFloat_AsDouble(PySequence_Fast_GET_ITEM(unit_rows[j], run));
                    if (unit == -1.0 && PyErr_Occurred()) goto done;
                    if (S.t0 + unit / rate < t) continue; /* left before the room got to them */
                }
                break;
            }
            if (best < 0) {
                freeat[i] = t; /* nothing left for this room: free from now on */
                continue;
            }
            times[i] = rooms_next(&S, &rngs[i], i, best, t);
            active[i] = 1;
        }
        PyObject *frees = PyList_New(S.n_rooms);
        PyObject *twisters = PyList_New(S.n_rooms);
        if (frees == NULL || twisters == NULL) {
            Py_XDECREF(frees);
            Py_XDECREF(twisters);
            goto done;
        }
        PyList_SET_ITEM(free_out, run, frees);
        PyList_SET_ITEM(states_out, run, twisters);
        for (Py_ssize_t i = 0; i < S.n_rooms; i++) {
            PyObject *f = PyFloat_FromDouble(active[i] ? times[i] : freeat[i]);
            PyObject *st = state_of(&rngs[i]);
            if (f == NULL || st == NULL) {
                Py_XDECREF(f);
                Py_XDECREF(st);
                goto done;
            }
            PyList_SET_ITEM(frees, i, f);
            PyList_SET_ITEM(twisters, i, st);
        }
    }

    /* Each ticket's deciles of its call times, and its range (``_deciles``, ``_range``). */
    calls_out = PyTuple_New(5);
    if (calls_out == NULL) goto done;
    PyObject *columns[5];
    for (int c = 0; c < 5; c++) {
        columns[c] = PyList_New(S.n_tickets);
        if (columns[c] == NULL) goto done;
        PyTuple_SET_ITEM(calls_out, c, columns[c]);
    }
    for (Py_ssize_t j = 0; j < S.n_tickets; j++) {
        double *times_j = out + j * S.runs;
        Py_ssize_t n = counts[j];
        double q10, q50, q90;
        if (n == 0) {
            times_j[0] = 0.0; /* cannot happen with a room per line; as the Python loop */
            n = 1;
        }
        qsort(times_j, n, sizeof(double), by_value);
        if (n == 1) {
            q10 = q50 = q90 = PY_MAX(0.0, times_j[0]);
        } else {
            q10 = PY_MAX(0.0, spot(times_j, n, 0.10));
            q50 = PY_MAX(0.0, spot(times_j, n, 0.50));
            q90 = PY_MAX(0.0, spot(times_j, n, 0.90));
        }
        Py_ssize_t band = edges.n;
        for (Py_ssize_t b = 0; b < edges.n; b++) {
            if (q50 < edges.v[b]) {
                band = b;
                break;
            }
        }
        double low_shift = shifts.v[2 * band], high_shift = shifts.v[2 * band + 1];
        double width = PY_MAX(1.0, (q90 - q10) / 2);
        double low = PY_MAX(0.0, PY_MIN(q50, q10 - low_shift * width));
        double high = PY_MAX(q50, q90 + high_shift * width);
        double values[5] = {q10, q50, q90, low, high};
        for (int c = 0; c < 5; c++) {
            PyObject *f = PyFloat_FromDouble(values[c]);
            if (f == NULL) goto done;
            PyList_SET_ITEM(columns[c], j, f);
        }
    }
    result = PyTuple_Pack(3, calls_out, free_out, states_out);
    goto done;

nomem:
    PyErr_NoMemory();
done:
    Py_XDECREF(calls_out);
    Py_XDECREF(free_out);
    Py_XDECREF(states_out);
    PyMem_Free(leave.v);
    PyMem_Free(no_show.v);
    PyMem_Free(check.v);
    PyMem_Free(prio.v);
    PyMem_Free(edges.v);
    PyMem_Free(shifts.v);
    PyMem_Free(S.breaks.v);
    PyMem_Free(S.break_gaps.v);
    free_doubles(S.blocks, S.n_lines);
    free_doubles(S.shapes, S.n_lines);
    free_doubles(S.gaps, S.n_lines);
    PyMem_Free(S.room_means);
    PyMem_Free(line_start);
    PyMem_Free(line_len);
    PyMem_Free(line_items);
    PyMem_Free(pointer);
    PyMem_Free(serv_start);
    PyMem_Free(serv_len);
    PyMem_Free(serv_items);
    PyMem_Free(counts);
    PyMem_Free(times);
    PyMem_Free(freeat);
    PyMem_Free(active);
    PyMem_Free(rngs);
    PyMem_Free(out);
    if (unit_rows != NULL) {
        for (Py_ssize_t j = 0; j < S.n_tickets; j++) Py_XDECREF(unit_rows[j]);
        PyMem_Free(unit_rows);
    }
    return result;
}

static PyMethodDef methods[] = {
    {"runs", runs, METH_VARARGS, run_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_simulation",
    "The wait estimator's simulation runs in C (the same figures as estimate.py's Python loop).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__simulation(void) { return PyModule_Create(&module); }
