/*
 * rules._wordscan: an Aho-Corasick automaton over words, for the rule engine's scan.
 *
 * WordAutomaton(words, goto, fail, out_pid, out_next, prefixes, prefix_link[, n_pattern_words])
 *   The automaton is built in Python (rules/wordscan.py); this type only holds it in flat
 *   C arrays and hash tables and runs it. Its alphabet is words: `words` lists the
 *   vocabulary (word id = index); `goto` is a flat int32 array of (parent, word id, child)
 *   triples; `fail`, `out_pid` (the pattern ending at a node, or -1), `out_next` (the nearest
 *   proper failure ancestor with an output, or -1) and `prefix_link` (the nearest node in the
 *   failure chain, itself included, that has prefix entries, or -1) are int32 arrays indexed
 *   by node; `prefixes` lists (node, prefix, pattern id): a pattern whose last word is a
 *   prefix ("strategic partner*") hangs off the node of its other words. Words from
 *   `n_pattern_words` on are in no pattern: they are only named, so that `scan_words` gives
 *   them an id (the engine checks confirming phrases on those ids: `has_words`,
 *   `locate_words`).
 *
 * scan(norm) -> set of pattern ids seen in norm (words separated by spaces, as produced by
 *   rules.normalize.scan_form; a double space is a sentence break, which no pattern spans),
 *   all overlapping occurrences considered (each pattern reported once per scan: a
 *   per-node stamp of the scan's generation skips outputs already reported, which also
 *   makes the automaton not reentrant, which the GIL guarantees). Cost per word: one
 *   vocabulary probe, amortised O(1) transitions, the outputs found; plus a few probes per
 *   word at nodes with prefix entries. It does not grow with the number of patterns the way a
 *   character automaton does (one random memory access per character once it outgrows the
 *   cache).
 *
 * Layout is for cache misses, which dominate once 100,000 rules outgrow the cache: a 16-byte
 * vocabulary slot holds a tag of the word's hash, its length and pool offset; a transition is
 * a 12-byte slot; a node's failure, output and prefix links share one 16-byte record. So a
 * word costs about four cache lines (vocabulary slot, its characters, transition, node).
 *
 * Does no I/O.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#if defined(__GNUC__) || defined(__clang__)
#define NW_INLINE inline __attribute__((always_inline))
#else
#define NW_INLINE inline
#endif

#define BREAK_ID (-2) /* scan_words: a sentence break */

#define FNV_OFFSET 1469598103934665603ULL
#define FNV_PRIME 1099511628211ULL

static inline uint64_t fnv_step(uint64_t h, Py_UCS4 c)
{
    return (h ^ (uint64_t)c) * FNV_PRIME;
}

#include "_wordsink.h"

/* The vocabulary's hash step (nw_word_step in _wordsink.h: the fold computes it too, as it
 * folds); vocab_mix of the result spreads it before it indexes the table. */
#define word_step nw_word_step

/* One multiply: the vocabulary probe is on the critical path of every word of a scan (mix64's
 * two serial multiplies were a fifth of a word's cost). The high half, folded into the low,
 * gives the table index; the high half is the slot's tag. */
static inline uint64_t vocab_mix(uint64_t h)
{
    uint64_t m = (h ^ (h >> 29)) * 0x9e3779b97f4a7c15ULL;
    return m ^ (m >> 32);
}

static inline uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

typedef struct {
    uint64_t key; /* UINT64_MAX when empty */
    int32_t value;
} Slot;

typedef struct {
    int32_t node, off, len, pid;
    uint64_t hash;
} PrefixEntry;

#define INLINE_CHARS 16

typedef struct {
    uint32_t tag; /* high half of the word's mixed hash: most mismatches end here */
    int32_t id;   /* -1 when empty */
    int32_t len;
    int32_t off;  /* into pool */
    /* the word itself when it has at most INLINE_CHARS characters, all below 256 (nearly every
     * folded word): a found word is then checked within its slot's cache line, not against
     * the pool, a second cache miss per word at 100,000 rules. len > INLINE_CHARS or a
     * wider character: unused (chars[0] == 0 and the pool is compared). */
    uint8_t chars[INLINE_CHARS];
} VocabSlot; /* 32 bytes: two to a cache line */

typedef struct {
    uint32_t parent, word;
    int32_t child; /* 0 when empty (the root is nobody's child) */
} GoSlot;      /* 12 bytes */

typedef struct {
    int32_t fail, out_pid, out_next, prefix_link;
} Node;

typedef struct {
    PyObject_HEAD
    Py_UCS4 *pool; /* characters of the vocabulary, then of the prefixes */
    Py_ssize_t pool_len;
    VocabSlot *vocab; /* open addressing on the word's hash */
    uint64_t vocab_mask;
    Py_ssize_t n_words;
    GoSlot *go;       /* (parent, word id) -> child */
    uint64_t go_mask;
    int32_t *root_go; /* per pattern word: the root's child by it, 0 for none (the usual
                       * step: after a word in no pattern the scan is at the root) */
    Node *nodes;
    Py_ssize_t n_nodes;
    PrefixEntry *prefixes;
    Slot *prefix_table; /* mix(node, hash) -> index into prefixes */
    uint64_t prefix_mask;
    int32_t min_prefix, max_prefix;
    Py_ssize_t n_pattern_words; /* words 0..n-1 are the patterns'; the others only named */
    uint32_t *stamp; /* per node: the scan (generation) that last reported its outputs */
    uint32_t generation;
    int ready; /* set by a successful __init__ only: a failed one leaves the object unusable */
} WordAutomaton;

static uint64_t table_size(Py_ssize_t n)
{
    uint64_t size = 16;
    while (size < (uint64_t)n * 2)
        size <<= 1;
    return size;
}

/* Whether the pooled characters at `pooled` equal text[start:start + len]. */
static NW_INLINE int same_chars(const Py_UCS4 *pooled, int kind, const void *data,
                             Py_ssize_t start, Py_ssize_t len)
{
    for (Py_ssize_t k = 0; k < len; k++)
        if (pooled[k] != PyUnicode_READ(kind, data, start + k))
            return 0;
    return 1;
}

/* Where a prefix entry of `node` with hash `h` lives in the prefix table (never the empty
 * marker). */
static inline uint64_t prefix_key(int32_t node, uint64_t h)
{
    uint64_t key = mix64(h ^ mix64((uint64_t)(uint32_t)node + 1));
    return key == UINT64_MAX ? 0 : key;
}

static NW_INLINE int32_t vocab_find(const WordAutomaton *a, int kind, const void *data, Py_ssize_t start,
                          Py_ssize_t len, uint64_t h)
{
    uint64_t m = vocab_mix(h);
    uint32_t tag = (uint32_t)(m >> 32);
    uint64_t i = m & a->vocab_mask;
    for (;;) {
        const VocabSlot *v = &a->vocab[i];
        if (v->id < 0)
            return -1;
        if (v->tag == tag && v->len == len) {
            if (v->chars[0] != 0) {
                Py_ssize_t k = 0;
                while (k < len && v->chars[k] == PyUnicode_READ(kind, data, start + k))
                    k++;
                if (k == len)
                    return v->id;
            } else if (same_chars(a->pool + v->off, kind, data, start, len)) {
                return v->id;
            }
        }
        i = (i + 1) & a->vocab_mask;
    }
}

static inline uint64_t go_index(uint32_t node, uint32_t word)
{
    return vocab_mix(((uint64_t)node << 32) | word); /* one multiply, as for the vocabulary */
}

static int32_t go_find(const WordAutomaton *a, int32_t node, int32_t word)
{
    if (node == 0) {
        int32_t child = a->root_go[word];
        return child ? child : -1;
    }
    uint64_t i = go_index((uint32_t)node, (uint32_t)word) & a->go_mask;
    for (;;) {
        const GoSlot *s = &a->go[i];
        if (s->child == 0)
            return -1;
        if (s->parent == (uint32_t)node && s->word == (uint32_t)word)
            return s->child;
        i = (i + 1) & a->go_mask;
    }
}

static NW_INLINE int32_t prefix_find(const WordAutomaton *a, int32_t node, uint64_t h, int kind,
                           const void *data, Py_ssize_t start, Py_ssize_t len)
{
    uint64_t key = prefix_key(node, h);
    uint64_t i = key & a->prefix_mask;
    for (;;) {
        const Slot *s = &a->prefix_table[i];
        if (s->key == UINT64_MAX)
            return -1;
        if (s->key == key) {
            const PrefixEntry *e = &a->prefixes[s->value];
            if (e->node == node && e->len == len && e->hash == h &&
                same_chars(a->pool + e->off, kind, data, start, len))
                return e->pid;
        }
        i = (i + 1) & a->prefix_mask;
    }
}

static void wa_dealloc(WordAutomaton *a)
{
    PyMem_Free(a->pool);
    PyMem_Free(a->vocab);
    PyMem_Free(a->go);
    PyMem_Free(a->root_go);
    PyMem_Free(a->nodes);
    PyMem_Free(a->prefixes);
    PyMem_Free(a->prefix_table);
    PyMem_Free(a->stamp);
    Py_TYPE(a)->tp_free((PyObject *)a);
}

/* A copy of an int32 buffer of exactly `count` items (count < 0: any multiple of 1). */
static int32_t *int_array(PyObject *obj, Py_ssize_t count, Py_ssize_t *got, const char *what)
{
    Py_buffer view;
    if (PyObject_GetBuffer(obj, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    if (view.len % 4 || (count >= 0 && view.len != count * 4)) {
        PyBuffer_Release(&view);
        PyErr_Format(PyExc_ValueError, "%s: wrong size", what);
        return NULL;
    }
    int32_t *out = PyMem_Malloc(view.len ? (size_t)view.len : 1);
    if (out == NULL) {
        PyBuffer_Release(&view);
        PyErr_NoMemory();
        return NULL;
    }
    memcpy(out, view.buf, (size_t)view.len);
    if (got)
        *got = view.len / 4;
    PyBuffer_Release(&view);
    return out;
}

enum { ANY_VALUE, NODE_OR_NONE, NODE };

/* Copy one int32 array of n_nodes items into field `field` of every node record. */
static int node_field(WordAutomaton *a, PyObject *obj, size_t field, int values_are,
                      const char *what)
{
    int32_t *values = int_array(obj, a->n_nodes, NULL, what);
    if (values == NULL)
        return -1;
    for (Py_ssize_t i = 0; i < a->n_nodes; i++) {
        if (values_are != ANY_VALUE &&
            (values[i] >= a->n_nodes || values[i] < (values_are == NODE_OR_NONE ? -1 : 0))) {
            PyMem_Free(values);
            PyErr_Format(PyExc_ValueError, "%s: node out of range", what);
            return -1;
        }
        ((int32_t *)&a->nodes[i])[field] = values[i];
    }
    PyMem_Free(values);
    return 0;
}

/* Every failure, output and prefix chain must end (at the root or -1): scan() follows them
 * without a bound, so a cycle in hand-made tables would hang it. Valid chains are as long as
 * the longest pattern, so this costs little. */
static int check_chains(const WordAutomaton *a)
{
    Py_ssize_t n = a->n_nodes;
    const Node *nodes = a->nodes;
    for (Py_ssize_t node = 0; node < n; node++) {
        Py_ssize_t steps = 0;
        for (int32_t v = (int32_t)node; v != 0; v = nodes[v].fail)
            if (++steps > n)
                goto cycle;
        steps = 0;
        for (int32_t v = nodes[node].out_next; v >= 0; v = nodes[v].out_next)
            if (++steps > n)
                goto cycle;
        steps = 0;
        for (int32_t v = nodes[node].prefix_link; v > 0; v = nodes[nodes[v].fail].prefix_link)
            if (++steps > n)
                goto cycle;
    }
    if (nodes[0].fail != 0) {
        PyErr_SetString(PyExc_ValueError, "fail: the root must fail to itself");
        return -1;
    }
    return 0;
cycle:
    PyErr_SetString(PyExc_ValueError, "automaton tables hold a cycle");
    return -1;
}

static Py_ssize_t pool_add(WordAutomaton *a, PyObject *s, Py_ssize_t *cap)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(s);
    if (a->pool_len + n >= INT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "too many characters in the patterns");
        return -1;
    }
    if (a->pool_len + n > *cap) {
        Py_ssize_t want = (*cap * 2 > a->pool_len + n) ? *cap * 2 : a->pool_len + n + 64;
        Py_UCS4 *pool = PyMem_Realloc(a->pool, (size_t)want * sizeof(Py_UCS4));
        if (pool == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        a->pool = pool;
        *cap = want;
    }
    Py_ssize_t off = a->pool_len;
    int kind = PyUnicode_KIND(s);
    const void *data = PyUnicode_DATA(s);
    for (Py_ssize_t k = 0; k < n; k++)
        a->pool[a->pool_len++] = PyUnicode_READ(kind, data, k);
    return off;
}

static uint64_t hash_ucs4(const Py_UCS4 *w, Py_ssize_t n)
{
    uint64_t h = FNV_OFFSET;
    for (Py_ssize_t k = 0; k < n; k++)
        h = fnv_step(h, w[k]);
    return h;
}

static int wa_init(WordAutomaton *a, PyObject *args, PyObject *kwds)
{
    PyObject *words, *go, *fail, *out_pid, *out_next, *prefixes, *prefix_link;
    Py_ssize_t n_pattern_words = -1;
    static char *names[] = {"words", "goto", "fail", "out_pid", "out_next", "prefixes",
                            "prefix_link", "n_pattern_words", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!OOOOO!O|n:WordAutomaton", names,
                                     &PyList_Type, &words, &go, &fail, &out_pid, &out_next,
                                     &PyList_Type, &prefixes, &prefix_link, &n_pattern_words))
        return -1;
    if (a->pool != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "WordAutomaton is immutable");
        return -1;
    }
    Py_ssize_t n_words = PyList_GET_SIZE(words);
    Py_ssize_t n_prefixes = PyList_GET_SIZE(prefixes);
    if (n_pattern_words < 0 || n_pattern_words > n_words)
        n_pattern_words = n_words; /* every word may be a pattern's */
    a->n_pattern_words = n_pattern_words;
    Py_ssize_t pool_cap = 1024;
    a->pool = PyMem_Malloc(pool_cap * sizeof(Py_UCS4));
    if (a->pool == NULL)
        goto nomem;

    /* nodes: `fail` gives their number */
    int32_t *fails = int_array(fail, -1, &a->n_nodes, "fail");
    if (fails == NULL)
        return -1;
    PyMem_Free(fails);
    if (a->n_nodes < 1 || a->n_nodes >= INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "fail: need the root node");
        return -1;
    }
    a->nodes = PyMem_Malloc((size_t)a->n_nodes * sizeof(Node));
    if (a->nodes == NULL)
        goto nomem;
    a->stamp = PyMem_Calloc((size_t)a->n_nodes, sizeof(uint32_t));
    if (a->stamp == NULL)
        goto nomem;
    a->generation = 0;
    if (node_field(a, fail, 0, NODE, "fail") < 0 ||
        node_field(a, out_pid, 1, ANY_VALUE, "out_pid") < 0 ||
        node_field(a, out_next, 2, NODE_OR_NONE, "out_next") < 0 ||
        node_field(a, prefix_link, 3, NODE_OR_NONE, "prefix_link") < 0 || check_chains(a) < 0)
        return -1;

    /* vocabulary */
    a->n_words = n_words;
    uint64_t vsize = table_size(n_words);
    a->vocab = PyMem_Malloc(vsize * sizeof(VocabSlot));
    if (a->vocab == NULL)
        goto nomem;
    a->vocab_mask = vsize - 1;
    for (uint64_t i = 0; i < vsize; i++)
        a->vocab[i].id = -1;
    for (Py_ssize_t id = 0; id < n_words; id++) {
        PyObject *w = PyList_GET_ITEM(words, id);
        if (!PyUnicode_Check(w) || PyUnicode_GET_LENGTH(w) == 0) {
            PyErr_SetString(PyExc_TypeError, "words: non-empty str expected");
            return -1;
        }
        Py_ssize_t off = pool_add(a, w, &pool_cap);
        if (off < 0)
            return -1;
        Py_ssize_t len = PyUnicode_GET_LENGTH(w);
        uint64_t h = 0;
        for (Py_ssize_t k = 0; k < len; k++)
            h = word_step(h, a->pool[off + k]);
        uint64_t m = vocab_mix(h);
        uint64_t i = m & a->vocab_mask;
        while (a->vocab[i].id >= 0)
            i = (i + 1) & a->vocab_mask;
        VocabSlot *slot = &a->vocab[i];
        *slot = (VocabSlot){
            .tag = (uint32_t)(m >> 32), .id = (int32_t)id, .len = (int32_t)len, .off = (int32_t)off};
        int narrow = len <= INLINE_CHARS;
        for (Py_ssize_t k = 0; k < len && narrow; k++)
            narrow = a->pool[off + k] > 0 && a->pool[off + k] < 256;
        if (narrow)
            for (Py_ssize_t k = 0; k < len; k++)
                slot->chars[k] = (uint8_t)a->pool[off + k];
    }

    /* transitions */
    Py_ssize_t n_go;
    int32_t *triples = int_array(go, -1, &n_go, "goto");
    if (triples == NULL)
        return -1;
    if (n_go % 3) {
        PyMem_Free(triples);
        PyErr_SetString(PyExc_ValueError, "goto: (parent, word, child) triples expected");
        return -1;
    }
    uint64_t gsize = table_size(n_go / 3);
    a->go = PyMem_Malloc(gsize * sizeof(GoSlot));
    a->root_go = PyMem_Calloc(a->n_pattern_words ? (size_t)a->n_pattern_words : 1, 4);
    if (a->go == NULL || a->root_go == NULL) {
        PyMem_Free(triples);
        goto nomem;
    }
    a->go_mask = gsize - 1;
    for (uint64_t i = 0; i < gsize; i++)
        a->go[i].child = 0;
    for (Py_ssize_t t = 0; t < n_go; t += 3) {
        int32_t parent = triples[t], word = triples[t + 1], child = triples[t + 2];
        if (parent < 0 || parent >= a->n_nodes || child <= 0 || child >= a->n_nodes ||
            word < 0 || word >= a->n_words) {
            PyMem_Free(triples);
            PyErr_SetString(PyExc_ValueError, "goto: value out of range");
            return -1;
        }
        uint64_t i = go_index((uint32_t)parent, (uint32_t)word) & a->go_mask;
        while (a->go[i].child != 0 &&
               !(a->go[i].parent == (uint32_t)parent && a->go[i].word == (uint32_t)word))
            i = (i + 1) & a->go_mask;
        a->go[i] = (GoSlot){.parent = (uint32_t)parent, .word = (uint32_t)word, .child = child};
        if (parent == 0 && word < a->n_pattern_words)
            a->root_go[word] = child;
    }
    PyMem_Free(triples);

    /* prefix entries */
    a->prefixes = PyMem_Malloc((n_prefixes ? n_prefixes : 1) * sizeof(PrefixEntry));
    uint64_t psize = table_size(n_prefixes);
    a->prefix_table = PyMem_Malloc(psize * sizeof(Slot));
    if (!a->prefixes || !a->prefix_table)
        goto nomem;
    a->prefix_mask = psize - 1;
    for (uint64_t i = 0; i < psize; i++)
        a->prefix_table[i].key = UINT64_MAX;
    a->min_prefix = INT32_MAX;
    a->max_prefix = 0;
    for (Py_ssize_t p = 0; p < n_prefixes; p++) {
        int node, pid;
        PyObject *text;
        PyObject *item = PyList_GET_ITEM(prefixes, p);
        if (!PyTuple_Check(item) || !PyArg_ParseTuple(item, "iUi", &node, &text, &pid))
            return -1;
        if (node < 0 || node >= a->n_nodes || PyUnicode_GET_LENGTH(text) == 0) {
            PyErr_SetString(PyExc_ValueError, "prefixes: bad entry");
            return -1;
        }
        Py_ssize_t off = pool_add(a, text, &pool_cap);
        if (off < 0)
            return -1;
        PrefixEntry *e = &a->prefixes[p];
        e->node = node;
        e->off = (int32_t)off;
        e->len = (int32_t)PyUnicode_GET_LENGTH(text);
        e->pid = pid;
        e->hash = hash_ucs4(a->pool + off, e->len);
        if (e->len < a->min_prefix)
            a->min_prefix = e->len;
        if (e->len > a->max_prefix)
            a->max_prefix = e->len;
        uint64_t key = prefix_key(node, e->hash);
        uint64_t i = key & a->prefix_mask;
        while (a->prefix_table[i].key != UINT64_MAX)
            i = (i + 1) & a->prefix_mask;
        a->prefix_table[i].key = key;
        a->prefix_table[i].value = (int32_t)p;
    }
    a->ready = 1;
    return 0;
nomem:
    PyErr_NoMemory();
    return -1;
}

static int add_pid(PyObject *seen, int32_t pid)
{
    PyObject *value = PyLong_FromLong(pid);
    if (value == NULL)
        return -1;
    int rc = PySet_Add(seen, value);
    Py_DECREF(value);
    return rc;
}

/* One word of a scan: text[start:start + len] (its hash `h` by word_step), after the words
 * before it left the automaton in `*state`. Reports the patterns ending at this word into
 * `seen` and records the word's id in `ids` (if not NULL). Shared by the scan of a folded
 * string (scan_kind) and the fold's word sink (sink_word), so both find the same. Outputs
 * are reported once per node and scan: a node's output chain is fixed, so when the scan
 * reaches a node already reported (its stamp is this scan's generation) the rest of the
 * chain was reported too. */
static NW_INLINE int scan_word(WordAutomaton *a, PyObject *seen, int32_t *state_io, uint32_t gen,
                               const int kind, const void *data, Py_ssize_t start,
                               Py_ssize_t len, uint64_t h, int32_t *ids, Py_ssize_t *n_ids)
{
    const Node *nodes = a->nodes;
    uint32_t *stamp = a->stamp;
    int32_t state = *state_io;
    /* patterns whose last word is a prefix of this word, after the words read so far */
    for (int32_t node = nodes[state].prefix_link; node >= 0;
         node = node ? nodes[nodes[node].fail].prefix_link : -1) {
        uint64_t ph = FNV_OFFSET;
        Py_ssize_t top = len < a->max_prefix ? len : a->max_prefix;
        for (Py_ssize_t k = 0; k < top; k++) {
            ph = fnv_step(ph, PyUnicode_READ(kind, data, start + k));
            if (k + 1 < a->min_prefix)
                continue;
            int32_t pid = prefix_find(a, node, ph, kind, data, start, k + 1);
            if (pid >= 0 && add_pid(seen, pid) < 0)
                return -1;
        }
    }
    int32_t word = vocab_find(a, kind, data, start, len, h);
    if (ids != NULL)
        ids[(*n_ids)++] = word;
    if (word < 0 || word >= a->n_pattern_words) {
        state = 0; /* no pattern has this word: nothing continues through it */
    } else {
        int32_t next;
        while ((next = go_find(a, state, word)) < 0 && state != 0)
            state = nodes[state].fail;
        state = next >= 0 ? next : 0;
    }
    *state_io = state;
    for (int32_t node = nodes[state].out_pid >= 0 ? state : nodes[state].out_next; node >= 0;
         node = nodes[node].out_next) {
        if (stamp[node] == gen)
            break;
        stamp[node] = gen;
        if (add_pid(seen, nodes[node].out_pid) < 0)
            return -1;
    }
    return 0;
}

/* The scan loop for one string kind: always inlined into wa_scan with a constant `kind`, so
 * each character read is a plain load (folded text is nearly always the 1-byte kind). */
static NW_INLINE int scan_kind(WordAutomaton *a, PyObject *seen, const void *data, Py_ssize_t n,
                               const int kind, uint32_t gen, int32_t *ids, Py_ssize_t *n_ids)
{
    int32_t state = 0;
    Py_ssize_t i = 0;
    while (i < n) {
        if (PyUnicode_READ(kind, data, i) == ' ') {
            /* a double space is a sentence break: no pattern continues across it */
            if (i + 1 < n && PyUnicode_READ(kind, data, i + 1) == ' ') {
                state = 0;
                if (ids != NULL)
                    ids[(*n_ids)++] = BREAK_ID;
            }
            i++;
            continue;
        }
        Py_ssize_t start = i;
        uint64_t h = 0;
        while (i < n) {
            Py_UCS4 c = PyUnicode_READ(kind, data, i);
            if (c == ' ')
                break;
            h = word_step(h, c);
            i++;
        }
        if (scan_word(a, seen, &state, gen, kind, data, start, i - start, h, ids, n_ids) < 0)
            return -1;
    }
    return 0;
}

/* A new scan: its generation (stamps of earlier scans no longer look current). */
static uint32_t next_generation(WordAutomaton *a)
{
    if (++a->generation == 0) { /* wrapped: no stamp may look current */
        memset(a->stamp, 0, (size_t)a->n_nodes * sizeof(uint32_t));
        a->generation = 1;
    }
    return a->generation;
}

/* ---- the word sink: the C fold (rules._fastfold.fold_scan) hands each folded word here as it
 * closes it, with its hash, so folding and scanning are one pass over the text (the scan of
 * the folded string is a second loop over the same characters). The API is a capsule,
 * WordSinkAPI in rules/_wordsink.h. */

typedef struct {
    WordAutomaton *a;
    PyObject *seen;
    uint32_t gen;
    int32_t state;
    int32_t *ids; /* NULL: ids not wanted */
    Py_ssize_t n_ids, cap_ids;
} SinkScan;

static void *sink_begin(PyObject *automaton, int want_ids)
{
    WordAutomaton *a = (WordAutomaton *)automaton;
    if (!a->ready) {
        PyErr_SetString(PyExc_RuntimeError, "WordAutomaton not initialised");
        return NULL;
    }
    SinkScan *s = PyMem_Calloc(1, sizeof(SinkScan));
    if (s == NULL)
        return PyErr_NoMemory();
    s->seen = PySet_New(NULL);
    if (s->seen == NULL) {
        PyMem_Free(s);
        return NULL;
    }
    if (want_ids) {
        s->cap_ids = 256;
        s->ids = PyMem_Malloc((size_t)s->cap_ids * sizeof(int32_t));
        if (s->ids == NULL) {
            Py_DECREF(s->seen);
            PyMem_Free(s);
            return PyErr_NoMemory();
        }
    }
    Py_INCREF(automaton);
    s->a = a;
    s->gen = next_generation(a);
    return s;
}

static int sink_room(SinkScan *s)
{
    if (s->ids == NULL || s->n_ids < s->cap_ids)
        return 0;
    Py_ssize_t cap = s->cap_ids * 2;
    int32_t *ids = PyMem_Realloc(s->ids, (size_t)cap * sizeof(int32_t));
    if (ids == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    s->ids = ids;
    s->cap_ids = cap;
    return 0;
}

static int sink_word(void *ctx, const Py_UCS4 *word, Py_ssize_t len, uint64_t h)
{
    SinkScan *s = ctx;
    if (sink_room(s) < 0)
        return -1;
    return scan_word(s->a, s->seen, &s->state, s->gen, PyUnicode_4BYTE_KIND, word, 0, len, h,
                     s->ids, &s->n_ids);
}

static int sink_break(void *ctx)
{
    SinkScan *s = ctx;
    s->state = 0;
    if (s->ids == NULL)
        return 0;
    if (sink_room(s) < 0)
        return -1;
    s->ids[s->n_ids++] = BREAK_ID;
    return 0;
}

static void sink_free(SinkScan *s)
{
    Py_XDECREF(s->seen);
    Py_DECREF((PyObject *)s->a);
    PyMem_Free(s->ids);
    PyMem_Free(s);
}

/* The scan's result (the seen set, or (seen, ids) when ids were wanted) and the context
 * freed; with ok == 0 (the fold failed) only the freeing. */
static PyObject *sink_end(void *ctx, int ok)
{
    SinkScan *s = ctx;
    PyObject *out = NULL;
    if (ok) {
        if (s->ids == NULL) {
            out = s->seen;
            s->seen = NULL;
        } else {
            PyObject *packed = PyBytes_FromStringAndSize(
                (const char *)s->ids, s->n_ids * (Py_ssize_t)sizeof(int32_t));
            if (packed != NULL)
                out = Py_BuildValue("(ON)", s->seen, packed);
        }
    }
    sink_free(s);
    return out;
}

static WordSinkAPI sink_api = {
    .version = WORD_SINK_API_VERSION,
    .type = NULL, /* set at module init */
    .begin = sink_begin,
    .word = sink_word,
    .brk = sink_break,
    .end = sink_end,
};

/* scan(norm), and with `want_ids` the word ids of norm too (see scan_words). */
static PyObject *scan_common(WordAutomaton *a, PyObject *norm, int want_ids)
{
    if (!PyUnicode_Check(norm)) {
        PyErr_SetString(PyExc_TypeError, "scan() needs a str");
        return NULL;
    }
    if (!a->ready) {
        PyErr_SetString(PyExc_RuntimeError, "WordAutomaton not initialised");
        return NULL;
    }
    const void *data = PyUnicode_DATA(norm);
    Py_ssize_t n = PyUnicode_GET_LENGTH(norm);
    int32_t *ids = NULL;
    Py_ssize_t n_ids = 0;
    if (want_ids) {
        /* at most one id per word or break, and each takes at least two characters */
        ids = PyMem_Malloc(((size_t)n / 2 + 2) * sizeof(int32_t));
        if (ids == NULL)
            return PyErr_NoMemory();
    }
    PyObject *seen = PySet_New(NULL);
    if (seen == NULL) {
        PyMem_Free(ids);
        return NULL;
    }
    uint32_t gen = next_generation(a);
    int rc;
    switch (PyUnicode_KIND(norm)) {
    case PyUnicode_1BYTE_KIND:
        rc = scan_kind(a, seen, data, n, PyUnicode_1BYTE_KIND, gen, ids, &n_ids);
        break;
    case PyUnicode_2BYTE_KIND:
        rc = scan_kind(a, seen, data, n, PyUnicode_2BYTE_KIND, gen, ids, &n_ids);
        break;
    default:
        rc = scan_kind(a, seen, data, n, PyUnicode_4BYTE_KIND, gen, ids, &n_ids);
        break;
    }
    if (rc < 0) {
        PyMem_Free(ids);
        Py_DECREF(seen);
        return NULL;
    }
    if (!want_ids)
        return seen;
    PyObject *packed = PyBytes_FromStringAndSize((const char *)ids, n_ids * (Py_ssize_t)sizeof(int32_t));
    PyMem_Free(ids);
    if (packed == NULL) {
        Py_DECREF(seen);
        return NULL;
    }
    return Py_BuildValue("(NN)", seen, packed);
}

static PyObject *wa_scan(WordAutomaton *a, PyObject *norm)
{
    return scan_common(a, norm, 0);
}

static PyObject *wa_scan_words(WordAutomaton *a, PyObject *norm)
{
    return scan_common(a, norm, 1);
}

/* The int32 items of a bytes-like object (a borrowed view: release it). */
static int int32_view(PyObject *obj, Py_buffer *view, const char *what)
{
    if (PyObject_GetBuffer(obj, view, PyBUF_SIMPLE) < 0)
        return -1;
    if (view->len % 4) {
        PyBuffer_Release(view);
        PyErr_Format(PyExc_ValueError, "%s: not int32 items", what);
        return -1;
    }
    return 0;
}

/* Where seq (m >= 1 ids, none negative) first occurs in ids at or after `from`, or -1. */
static Py_ssize_t find_seq(const int32_t *ids, Py_ssize_t n, const int32_t *seq, Py_ssize_t m,
                           Py_ssize_t from)
{
    int32_t first = seq[0];
    Py_ssize_t last = n - m; /* the last start a match can have */
#ifdef __SSE2__
    /* the first id looked for four at a time: most phrases looked for are absent, and the
     * scalar loop's compare and branch per id was most of their cost */
    const __m128i want = _mm_set1_epi32(first);
#endif
    for (Py_ssize_t i = from; i <= last; i++) {
#ifdef __SSE2__
        while (i + 4 <= last + 1) {
            __m128i four = _mm_loadu_si128((const __m128i *)(ids + i));
            int hits = _mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(four, want)));
            if (hits) {
                i += __builtin_ctz((unsigned)hits);
                break;
            }
            i += 4;
        }
        if (i > last)
            break;
#endif
        if (ids[i] != first)
            continue;
        Py_ssize_t k = 1;
        while (k < m && ids[i + k] == seq[k])
            k++;
        if (k == m)
            return i;
    }
    return -1;
}

/* has_words(ids, seq) -> bool; locate_words(ids, seq, field) -> [(field, first, end, sentence)] */
static PyObject *words_common(PyObject *args, int locate)
{
    PyObject *ids_obj, *seq_obj;
    int field = 0;
    if (locate ? !PyArg_ParseTuple(args, "OOi:locate_words", &ids_obj, &seq_obj, &field)
               : !PyArg_ParseTuple(args, "OO:has_words", &ids_obj, &seq_obj))
        return NULL;
    Py_buffer iv, sv;
    if (int32_view(ids_obj, &iv, "ids") < 0)
        return NULL;
    if (int32_view(seq_obj, &sv, "seq") < 0) {
        PyBuffer_Release(&iv);
        return NULL;
    }
    const int32_t *ids = iv.buf, *seq = sv.buf;
    Py_ssize_t n = iv.len / 4, m = sv.len / 4;
    PyObject *out = NULL;
    int bad = m == 0;
    for (Py_ssize_t k = 0; k < m && !bad; k++)
        bad = seq[k] < 0;
    if (bad) {
        PyErr_SetString(PyExc_ValueError, "seq: word ids (>= 0) expected");
        goto done;
    }
    if (!locate) {
        out = PyBool_FromLong(find_seq(ids, n, seq, m, 0) >= 0);
        goto done;
    }
    out = PyList_New(0);
    if (out == NULL)
        goto done;
    /* word index: the words before, breaks excluded; sentence: the breaks before */
    Py_ssize_t word = 0, sentence = 0, scanned = 0;
    for (Py_ssize_t at = find_seq(ids, n, seq, m, 0); at >= 0; at = find_seq(ids, n, seq, m, at + 1)) {
        for (; scanned < at; scanned++) {
            if (ids[scanned] == BREAK_ID)
                sentence++;
            else
                word++;
        }
        PyObject *item = Py_BuildValue("(innn)", field, word, word + m, sentence);
        if (item == NULL || PyList_Append(out, item) < 0) {
            Py_XDECREF(item);
            Py_CLEAR(out);
            goto done;
        }
        Py_DECREF(item);
    }
done:
    PyBuffer_Release(&iv);
    PyBuffer_Release(&sv);
    return out;
}

/* fields_with_words(ids_per_field, seq) -> bit mask of the fields whose ids hold seq */
static PyObject *ws_fields_with_words(PyObject *module, PyObject *args)
{
    PyObject *fields, *seq_obj;
    if (!PyArg_ParseTuple(args, "OO:fields_with_words", &fields, &seq_obj))
        return NULL;
    if (!PyList_Check(fields) && !PyTuple_Check(fields)) {
        PyErr_SetString(PyExc_TypeError, "fields_with_words: a list or tuple of ids expected");
        return NULL;
    }
    Py_buffer sv;
    if (int32_view(seq_obj, &sv, "seq") < 0)
        return NULL;
    const int32_t *seq = sv.buf;
    Py_ssize_t m = sv.len / 4;
    int bad = m == 0;
    for (Py_ssize_t k = 0; k < m && !bad; k++)
        bad = seq[k] < 0;
    Py_ssize_t n_fields = PySequence_Fast_GET_SIZE(fields);
    if (bad || n_fields > 62) {
        PyBuffer_Release(&sv);
        PyErr_SetString(PyExc_ValueError, "seq: word ids (>= 0) expected");
        return NULL;
    }
    long bits = 0;
    for (Py_ssize_t f = 0; f < n_fields; f++) {
        Py_buffer iv;
        if (int32_view(PySequence_Fast_GET_ITEM(fields, f), &iv, "ids") < 0) {
            PyBuffer_Release(&sv);
            return NULL;
        }
        if (find_seq(iv.buf, iv.len / 4, seq, m, 0) >= 0)
            bits |= 1L << f;
        PyBuffer_Release(&iv);
    }
    PyBuffer_Release(&sv);
    return PyLong_FromLong(bits);
}

/* gather(keys, table, out) -> None: for every key of `keys` (a set) that `table` holds, the
 * items of its tuple added to the set `out`. `table` is a dict of tuples, or a list indexed
 * by the keys (ints) holding a tuple, an int (a tuple of one, without the tuple: one memory
 * access less) or None (one memory access a key, not a hash probe's two: the engine's large
 * tables). What the engine's decide does for the patterns seen:
 * their sure rules, their candidates (at 100,000 rules, ~200 patterns a document: the
 * Python spelling, set.update(*filter(None, map(table.get, keys))), cost twice this). */
static PyObject *ws_gather(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyAnySet_Check(args[0]) ||
        !(PyDict_Check(args[1]) || PyList_Check(args[1])) || !PySet_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "gather(keys: set, table: dict | list, out: set)");
        return NULL;
    }
    PyObject *table = args[1], *out = args[2];
    int is_list = PyList_Check(table);
    if ((is_list ? PyList_GET_SIZE(table) : PyDict_GET_SIZE(table)) == 0)
        Py_RETURN_NONE;
    PyObject *it = PyObject_GetIter(args[0]);
    if (it == NULL)
        return NULL;
    PyObject *key;
    while ((key = PyIter_Next(it)) != NULL) {
        PyObject *value; /* borrowed */
        if (is_list) {
            Py_ssize_t index = PyLong_AsSsize_t(key);
            Py_DECREF(key);
            if (index == -1 && PyErr_Occurred())
                goto error;
            if (index < 0 || index >= PyList_GET_SIZE(table)) {
                PyErr_SetString(PyExc_IndexError, "gather: a key is not an index of the table");
                goto error;
            }
            value = PyList_GET_ITEM(table, index);
            if (value == Py_None)
                continue;
        } else {
            value = PyDict_GetItemWithError(table, key);
            Py_DECREF(key);
            if (value == NULL) {
                if (PyErr_Occurred())
                    goto error;
                continue;
            }
        }
        if (PyLong_CheckExact(value)) { /* a list's lone item, held as itself */
            if (PySet_Add(out, value) < 0)
                goto error;
            continue;
        }
        if (!PyTuple_Check(value)) {
            PyErr_SetString(PyExc_TypeError, "gather: the table's values must be tuples");
            goto error;
        }
        for (Py_ssize_t k = 0, n = PyTuple_GET_SIZE(value); k < n; k++)
            if (PySet_Add(out, PyTuple_GET_ITEM(value, k)) < 0)
                goto error;
    }
    Py_DECREF(it);
    if (PyErr_Occurred())
        return NULL;
    Py_RETURN_NONE;
error:
    Py_DECREF(it);
    return NULL;
}

/* The occurrences of seq (m ids) in ids, as (first word, sentence) pairs into `out` (words
 * and sentences counted as locate_words counts them); returns how many, or -1 (no memory). */
static Py_ssize_t word_runs(const int32_t *ids, Py_ssize_t n, const int32_t *seq, Py_ssize_t m,
                            Py_ssize_t **out)
{
    Py_ssize_t count = 0, cap = 0, word = 0, sentence = 0, scanned = 0;
    *out = NULL;
    for (Py_ssize_t at = find_seq(ids, n, seq, m, 0); at >= 0; at = find_seq(ids, n, seq, m, at + 1)) {
        for (; scanned < at; scanned++) {
            if (ids[scanned] == BREAK_ID)
                sentence++;
            else
                word++;
        }
        if (count == cap) {
            cap = cap ? cap * 2 : 8;
            Py_ssize_t *grown = PyMem_Realloc(*out, (size_t)cap * 2 * sizeof(Py_ssize_t));
            if (grown == NULL) {
                PyMem_Free(*out);
                *out = NULL;
                PyErr_NoMemory();
                return -1;
            }
            *out = grown;
        }
        (*out)[2 * count] = word;
        (*out)[2 * count + 1] = sentence;
        count++;
    }
    return count;
}

/* near_words(ids_per_field, fields, seq_a, seq_b, distance) -> bool: whether, in a field of
 * the bit mask `fields`, an occurrence of the word ids seq_a and one of seq_b lie in the same
 * sentence with at most `distance` words between them (max(first_b - end_a, first_a -
 * end_b) <= distance): what the engine's NEAR of two phrases decides (_near_holds), from the
 * scan's word ids, in one call. */
static PyObject *ws_near_words(PyObject *module, PyObject *args)
{
    PyObject *fields, *a_obj, *b_obj;
    long mask, distance;
    if (!PyArg_ParseTuple(args, "OlOOl:near_words", &fields, &mask, &a_obj, &b_obj, &distance))
        return NULL;
    if (!PyList_Check(fields) && !PyTuple_Check(fields)) {
        PyErr_SetString(PyExc_TypeError, "near_words: a list or tuple of ids expected");
        return NULL;
    }
    Py_buffer av, bv;
    if (int32_view(a_obj, &av, "seq_a") < 0)
        return NULL;
    if (int32_view(b_obj, &bv, "seq_b") < 0) {
        PyBuffer_Release(&av);
        return NULL;
    }
    const int32_t *sa = av.buf, *sb = bv.buf;
    Py_ssize_t ma = av.len / 4, mb = bv.len / 4;
    int bad = ma == 0 || mb == 0;
    for (Py_ssize_t k = 0; k < ma && !bad; k++)
        bad = sa[k] < 0;
    for (Py_ssize_t k = 0; k < mb && !bad; k++)
        bad = sb[k] < 0;
    PyObject *result = NULL;
    if (bad) {
        PyErr_SetString(PyExc_ValueError, "seq: word ids (>= 0) expected");
        goto done;
    }
    int found = 0;
    Py_ssize_t n_fields = PySequence_Fast_GET_SIZE(fields);
    for (Py_ssize_t f = 0; f < n_fields && f < 62 && !found; f++) {
        if (!(mask >> f & 1))
            continue;
        Py_buffer iv;
        if (int32_view(PySequence_Fast_GET_ITEM(fields, f), &iv, "ids") < 0)
            goto done;
        Py_ssize_t *ra = NULL, *rb = NULL;
        Py_ssize_t na = word_runs(iv.buf, iv.len / 4, sa, ma, &ra);
        Py_ssize_t nb = na > 0 ? word_runs(iv.buf, iv.len / 4, sb, mb, &rb) : 0;
        PyBuffer_Release(&iv);
        if (na < 0 || nb < 0) {
            PyMem_Free(ra);
            PyMem_Free(rb);
            goto done;
        }
        for (Py_ssize_t i = 0; i < na && !found; i++) {
            Py_ssize_t first_a = ra[2 * i], end_a = first_a + ma;
            for (Py_ssize_t j = 0; j < nb; j++) {
                if (rb[2 * j + 1] != ra[2 * i + 1])
                    continue; /* NEAR does not reach across a sentence break */
                Py_ssize_t first_b = rb[2 * j], end_b = first_b + mb;
                Py_ssize_t gap = first_b - end_a > first_a - end_b ? first_b - end_a : first_a - end_b;
                if (gap <= distance) {
                    found = 1;
                    break;
                }
            }
        }
        PyMem_Free(ra);
        PyMem_Free(rb);
    }
    result = PyBool_FromLong(found);
done:
    PyBuffer_Release(&av);
    PyBuffer_Release(&bv);
    return result;
}

/* The bit mask of the fields whose ids (bytes of int32) hold the run seq (bytes of int32),
 * or -1 with an exception set. */
static long fields_holding(PyObject *ids, PyObject *seq_obj)
{
    if (!PyBytes_Check(seq_obj) || PyBytes_GET_SIZE(seq_obj) % 4 || PyBytes_GET_SIZE(seq_obj) == 0) {
        PyErr_SetString(PyExc_ValueError, "seq: int32 bytes expected");
        return -1;
    }
    const int32_t *seq = (const int32_t *)PyBytes_AS_STRING(seq_obj);
    Py_ssize_t m = PyBytes_GET_SIZE(seq_obj) / 4;
    for (Py_ssize_t k = 0; k < m; k++)
        if (seq[k] < 0) {
            PyErr_SetString(PyExc_ValueError, "seq: word ids (>= 0) expected");
            return -1;
        }
    long bits = 0;
    Py_ssize_t n_fields = PyTuple_GET_SIZE(ids);
    for (Py_ssize_t f = 0; f < n_fields && f < 62; f++) {
        PyObject *field = PyTuple_GET_ITEM(ids, f);
        if (!PyBytes_Check(field) || PyBytes_GET_SIZE(field) % 4) {
            PyErr_SetString(PyExc_ValueError, "ids: int32 bytes expected");
            return -1;
        }
        if (find_seq((const int32_t *)PyBytes_AS_STRING(field), PyBytes_GET_SIZE(field) / 4, seq,
                     m, 0) >= 0)
            bits |= 1L << f;
    }
    return bits;
}

/* eval_plans(candidates, plans, union, seen, ids, seqs, fields_of, fired) -> [candidates
 * without a plan]: the engine's inline AND plans (rules.engine._plan: (pattern, field mask,
 * wanted) steps, the rule holds when every step does) run in C. A step's fields are the
 * seen sets holding the pattern when the scan saw it (`union`), else the fields whose word
 * ids (`ids`, a tuple of bytes, or None) hold its run (`seqs`: pattern -> bytes), else
 * fields_of(pattern). The candidates whose plan holds are added to `fired`. Exactly
 * RuleSet._evaluate's loop, without its ~1 µs of bytecode a candidate. */
static PyObject *ws_eval_plans(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 8 || !PyAnySet_Check(args[0]) || !PyDict_Check(args[1]) ||
        !PyAnySet_Check(args[2]) || !PyTuple_Check(args[3]) ||
        !(args[4] == Py_None || PyTuple_Check(args[4])) || !PyDict_Check(args[5]) ||
        !PyCallable_Check(args[6]) || !PySet_Check(args[7])) {
        PyErr_SetString(PyExc_TypeError,
                        "eval_plans(candidates: set, plans: dict, union: set, seen: tuple, ids: "
                        "tuple | None, seqs: dict, fields_of, fired: set)");
        return NULL;
    }
    PyObject *plans = args[1], *union_ = args[2], *seen = args[3], *ids = args[4];
    PyObject *seqs = args[5], *fields_of = args[6], *fired = args[7];
    Py_ssize_t n_fields = PyTuple_GET_SIZE(seen);
    for (Py_ssize_t f = 0; f < n_fields; f++)
        if (!PyAnySet_Check(PyTuple_GET_ITEM(seen, f))) {
            PyErr_SetString(PyExc_TypeError, "eval_plans: seen must hold sets");
            return NULL;
        }
    PyObject *rest = PyList_New(0);
    if (rest == NULL)
        return NULL;
    PyObject *it = PyObject_GetIter(args[0]);
    if (it == NULL) {
        Py_DECREF(rest);
        return NULL;
    }
    PyObject *index;
    while ((index = PyIter_Next(it)) != NULL) {
        PyObject *plan = PyDict_GetItemWithError(plans, index); /* borrowed */
        if (plan == NULL) {
            int rc = PyErr_Occurred() ? -1 : PyList_Append(rest, index);
            Py_DECREF(index);
            if (rc < 0)
                goto error;
            continue;
        }
        if (!PyTuple_Check(plan)) {
            Py_DECREF(index);
            PyErr_SetString(PyExc_TypeError, "eval_plans: a plan must be a tuple");
            goto error;
        }
        int holds = 1;
        for (Py_ssize_t k = 0, n = PyTuple_GET_SIZE(plan); k < n && holds; k++) {
            PyObject *step = PyTuple_GET_ITEM(plan, k);
            if (!PyTuple_Check(step) || PyTuple_GET_SIZE(step) != 3) {
                Py_DECREF(index);
                PyErr_SetString(PyExc_TypeError, "eval_plans: a step is (pattern, mask, wanted)");
                goto error;
            }
            PyObject *pid = PyTuple_GET_ITEM(step, 0);
            long mask = PyLong_AsLong(PyTuple_GET_ITEM(step, 1));
            int want = PyObject_IsTrue(PyTuple_GET_ITEM(step, 2));
            if ((mask == -1 && PyErr_Occurred()) || want < 0) {
                Py_DECREF(index);
                goto error;
            }
            long bits = 0;
            int in_union = PySet_Contains(union_, pid);
            if (in_union < 0) {
                Py_DECREF(index);
                goto error;
            }
            if (in_union) {
                for (Py_ssize_t f = 0; f < n_fields && f < 62; f++) {
                    int in = PySet_Contains(PyTuple_GET_ITEM(seen, f), pid);
                    if (in < 0) {
                        Py_DECREF(index);
                        goto error;
                    }
                    bits |= (long)in << f;
                }
            } else {
                PyObject *seq = ids == Py_None ? NULL : PyDict_GetItemWithError(seqs, pid);
                if (seq != NULL) {
                    bits = fields_holding(ids, seq);
                } else if (PyErr_Occurred()) {
                    bits = -1;
                } else {
                    PyObject *r = PyObject_CallOneArg(fields_of, pid);
                    bits = r == NULL ? -1 : PyLong_AsLong(r);
                    Py_XDECREF(r);
                }
                if (bits == -1 && PyErr_Occurred()) {
                    Py_DECREF(index);
                    goto error;
                }
            }
            holds = ((bits & mask) != 0) == want;
        }
        int rc = holds ? PySet_Add(fired, index) : 0;
        Py_DECREF(index);
        if (rc < 0)
            goto error;
    }
    Py_DECREF(it);
    if (PyErr_Occurred()) {
        Py_DECREF(rest);
        return NULL;
    }
    return rest;
error:
    Py_DECREF(it);
    Py_DECREF(rest);
    return NULL;
}

static PyObject *ws_has_words(PyObject *module, PyObject *args)
{
    return words_common(args, 0);
}

static PyObject *ws_locate_words(PyObject *module, PyObject *args)
{
    return words_common(args, 1);
}

static PyObject *wa_sizeof(WordAutomaton *a, PyObject *unused)
{
    size_t size = sizeof(WordAutomaton) + (size_t)a->pool_len * sizeof(Py_UCS4) +
                  (a->vocab ? (a->vocab_mask + 1) * sizeof(VocabSlot) : 0) +
                  (a->go ? (a->go_mask + 1) * sizeof(GoSlot) : 0) +
                  (size_t)a->n_pattern_words * sizeof(int32_t) +
                  (size_t)a->n_nodes * (sizeof(Node) + sizeof(uint32_t)) +
                  (a->prefix_table ? (a->prefix_mask + 1) * sizeof(Slot) : 0);
    return PyLong_FromSize_t(size);
}

static PyMethodDef wa_methods[] = {
    {"scan", (PyCFunction)wa_scan, METH_O,
     "scan(norm) -> set of the ids of the patterns that occur in norm."},
    {"scan_words", (PyCFunction)wa_scan_words, METH_O,
     "scan_words(norm) -> (scan(norm), int32 bytes: each word's id, -1 if not in the "
     "vocabulary, and -2 at each sentence break)."},
    {"__sizeof__", (PyCFunction)wa_sizeof, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject WordAutomatonType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "rules._wordscan.WordAutomaton",
    .tp_basicsize = sizeof(WordAutomaton),
    .tp_dealloc = (destructor)wa_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "An Aho-Corasick automaton over words, built by rules.wordscan.",
    .tp_methods = wa_methods,
    .tp_init = (initproc)wa_init,
    .tp_new = PyType_GenericNew,
};

static PyMethodDef ws_methods[] = {
    {"eval_plans", (PyCFunction)(void (*)(void))ws_eval_plans, METH_FASTCALL,
     "eval_plans(candidates, plans, union, seen, ids, seqs, fields_of, fired) -> the "
     "candidates without a plan; those whose plan holds are added to fired."},
    {"near_words", ws_near_words, METH_VARARGS,
     "near_words(ids_per_field, fields, seq_a, seq_b, distance) -> whether an occurrence of "
     "seq_a and one of seq_b are at most distance words apart in one sentence of one of the "
     "fields (a bit mask)."},
    {"gather", (PyCFunction)(void (*)(void))ws_gather, METH_FASTCALL,
     "gather(keys, table, out): for each key of the set keys held by the dict table, add "
     "the items of its tuple to the set out."},
    {"has_words", ws_has_words, METH_VARARGS,
     "has_words(ids, seq) -> whether the word ids seq (int32 bytes) occur in a row in ids."},
    {"fields_with_words", ws_fields_with_words, METH_VARARGS,
     "fields_with_words(ids_per_field, seq) -> bit mask of the fields (a list of int32 "
     "bytes) where the word ids seq occur in a row."},
    {"locate_words", ws_locate_words, METH_VARARGS,
     "locate_words(ids, seq, field) -> [(field, first word, end word, sentence)] of every "
     "occurrence of seq in ids (overlapping ones included)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef wordscan_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "rules._wordscan",
    .m_doc = "An Aho-Corasick automaton over words (see rules/_wordscan.c).",
    .m_size = -1,
    .m_methods = ws_methods,
};

PyMODINIT_FUNC PyInit__wordscan(void)
{
    if (PyType_Ready(&WordAutomatonType) < 0)
        return NULL;
    PyObject *module = PyModule_Create(&wordscan_module);
    if (module == NULL)
        return NULL;
    Py_INCREF(&WordAutomatonType);
    if (PyModule_AddObject(module, "WordAutomaton", (PyObject *)&WordAutomatonType) < 0) {
        Py_DECREF(&WordAutomatonType);
        Py_DECREF(module);
        return NULL;
    }
    sink_api.type = &WordAutomatonType;
    PyObject *capsule = PyCapsule_New(&sink_api, WORD_SINK_CAPSULE, NULL);
    if (capsule == NULL || PyModule_AddObject(module, "_sink_api", capsule) < 0) {
        Py_XDECREF(capsule);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
