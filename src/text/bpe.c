/*
 * bpe.c - vocabulary, merge ranks and the BPE merge loop.
 *
 * Storage: every distinct string is copied once into a NUL-separated pool and
 * named by its symbol index; an open-addressing table finds a symbol from its
 * bytes. Per symbol we keep its vocabulary id (-1 when it has none). Merges live in
 * a second open-addressing table keyed by the symbol pair, holding the rank and
 * the symbol of the merged string. Both tables stay at most half full.
 *
 * The merge loop rescans the word's pairs after each merge step, which is
 * quadratic in the word's length like the reference; words are pre-tokenised
 * pieces of a prompt, so they are short.
 */
#include "text/bpe.h"

#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "io/file.h"
#include "io/json.h"

#define MAX_ID (1 << 24)          /* ids beyond this are a corrupt vocabulary */
#define MAX_FILE (64u << 20)      /* vocab.json / merges.txt size limit */
#define CLIP_MAX_MERGES 48894     /* CLIPTokenizer reads lines [1, 49152 - 256 - 2 + 1) */
#define MAX_VERBATIM 8
#define EMPTY_PAIR UINT64_MAX

typedef struct sym {
    uint32_t off, len; /* in pool */
} sym_t;

struct iid_bpe {
    char *pool;
    size_t pool_len, pool_cap;
    sym_t *syms;
    int64_t *sym_id; /* vocabulary id per symbol, -1 when none */
    int32_t n_syms, syms_cap;
    int32_t *sym_table; /* open addressing: symbol index or -1 */
    size_t sym_table_cap;
    int32_t *id_sym; /* id -> symbol, -1 when no token has the id */
    int64_t id_limit, id_cap;
    uint64_t *pair_key; /* (left << 32) | right, EMPTY_PAIR when free */
    int32_t *pair_rank, *pair_result;
    size_t pair_cap;
    uint32_t byte_cp[256];  /* bytes_to_unicode */
    int32_t byte_sym[2][256]; /* symbol of a byte, [1] with "</w>"; -1 when not interned */
    int32_t verbatim[MAX_VERBATIM];
    int n_verbatim;
};

static uint64_t hash_bytes(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static uint64_t hash_pair(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return k;
}

static int32_t find_sym(const iid_bpe_t *b, const char *s, size_t len)
{
    size_t mask = b->sym_table_cap - 1;
    for (size_t i = hash_bytes(s, len) & mask;; i = (i + 1) & mask) {
        int32_t k = b->sym_table[i];
        if (k < 0) return -1;
        if (b->syms[k].len == len && memcmp(b->pool + b->syms[k].off, s, len) == 0) return k;
    }
}

static void table_insert(iid_bpe_t *b, int32_t k)
{
    size_t mask = b->sym_table_cap - 1;
    size_t i = hash_bytes(b->pool + b->syms[k].off, b->syms[k].len) & mask;
    while (b->sym_table[i] >= 0) i = (i + 1) & mask;
    b->sym_table[i] = k;
}

/* The symbol of a string, added when new. */
static iid_status intern(iid_bpe_t *b, const char *s, size_t len, int32_t *out, iid_error_t *err)
{
    int32_t k = find_sym(b, s, len);
    *out = k;
    if (k >= 0) return IID_OK;
    if ((size_t)b->n_syms + 1 > b->sym_table_cap / 2) {
        size_t cap = b->sym_table_cap * 2;
        int32_t *t = malloc(cap * sizeof *t);
        if (!t) return iid__fail(err, IID_ERR_NOMEM, "tokenizer: out of memory growing the symbol table");
        free(b->sym_table);
        b->sym_table = t;
        b->sym_table_cap = cap;
        memset(t, 0xff, cap * sizeof *t);
        for (int32_t i = 0; i < b->n_syms; i++) table_insert(b, i);
    }
    if (b->n_syms == b->syms_cap) {
        int32_t cap = b->syms_cap ? b->syms_cap * 2 : 1024;
        sym_t *ns = realloc(b->syms, (size_t)cap * sizeof *ns);
        if (ns) b->syms = ns;
        int64_t *ni = ns ? realloc(b->sym_id, (size_t)cap * sizeof *ni) : NULL;
        if (!ni) return iid__fail(err, IID_ERR_NOMEM, "tokenizer: out of memory growing the symbols");
        b->sym_id = ni;
        b->syms_cap = cap;
    }
    if (len > UINT32_MAX / 2 || b->pool_len + len + 1 > UINT32_MAX)
        return iid__fail(err, IID_ERR_RANGE, "tokenizer: token strings exceed 4 GiB");
    if (b->pool_len + len + 1 > b->pool_cap) {
        size_t cap = b->pool_cap ? b->pool_cap : 1 << 16;
        while (cap < b->pool_len + len + 1) cap *= 2;
        char *np = realloc(b->pool, cap);
        if (!np) return iid__fail(err, IID_ERR_NOMEM, "tokenizer: out of memory growing the string pool");
        b->pool = np;
        b->pool_cap = cap;
    }
    memcpy(b->pool + b->pool_len, s, len);
    b->pool[b->pool_len + len] = '\0';
    k = b->n_syms++;
    b->syms[k].off = (uint32_t)b->pool_len;
    b->syms[k].len = (uint32_t)len;
    b->sym_id[k] = -1;
    b->pool_len += len + 1;
    table_insert(b, k);
    *out = k;
    return IID_OK;
}

static iid_status set_id(iid_bpe_t *b, int32_t sym, int64_t id, const char *label, iid_error_t *err)
{
    if (id < 0 || id >= MAX_ID)
        return iid__fail(err, IID_ERR_RANGE, "%s: token id %lld outside [0, %d)", label, (long long)id, MAX_ID);
    if (id >= b->id_cap) {
        int64_t cap = b->id_cap ? b->id_cap : 1024;
        while (cap <= id) cap *= 2;
        int32_t *n = realloc(b->id_sym, (size_t)cap * sizeof *n);
        if (!n) return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory for %lld ids", label, (long long)cap);
        for (int64_t i = b->id_cap; i < cap; i++) n[i] = -1;
        b->id_sym = n;
        b->id_cap = cap;
    }
    b->sym_id[sym] = id;
    b->id_sym[id] = sym; /* a later token with the same id wins, as a Python dict inversion does */
    if (id + 1 > b->id_limit) b->id_limit = id + 1;
    return IID_OK;
}

static iid_status load_vocab(iid_bpe_t *b, const char *path, iid_error_t *err)
{
    iid_json_t j;
    IID_TRY(iid__json_load(&j, path, err));
    iid_status s = IID_OK;
    if (!cJSON_IsObject(j.root)) s = iid__fail(err, IID_ERR_FORMAT, "%s: expected an object of token -> id", path);
    for (const cJSON *e = s == IID_OK ? j.root->child : NULL; e && s == IID_OK; e = e->next) {
        double v = cJSON_IsNumber(e) ? e->valuedouble : -1.0;
        if (!(v >= 0.0 && v < MAX_ID) || v != (double)(int64_t)v) {
            s = iid__fail(err, IID_ERR_FORMAT, "%s: token \"%.40s\": expected an integer id in [0, %d)", path,
                          e->string, MAX_ID);
            break;
        }
        int32_t k;
        s = intern(b, e->string, strlen(e->string), &k, err);
        if (s == IID_OK) s = set_id(b, k, (int64_t)v, path, err);
    }
    iid__json_free(&j);
    return s;
}

static int is_merge_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

static void pair_put(iid_bpe_t *b, int32_t left, int32_t right, int32_t rank, int32_t result)
{
    uint64_t key = ((uint64_t)(uint32_t)left << 32) | (uint32_t)right;
    size_t mask = b->pair_cap - 1;
    size_t i = hash_pair(key) & mask;
    while (b->pair_key[i] != EMPTY_PAIR && b->pair_key[i] != key) i = (i + 1) & mask;
    b->pair_key[i] = key;
    b->pair_rank[i] = rank;
    b->pair_result[i] = result;
}

/* Rank of a pair (INT32_MAX when it has none) and its merged symbol. */
static int32_t pair_get(const iid_bpe_t *b, int32_t left, int32_t right, int32_t *result)
{
    if (left < 0 || right < 0) return INT32_MAX;
    uint64_t key = ((uint64_t)(uint32_t)left << 32) | (uint32_t)right;
    size_t mask = b->pair_cap - 1;
    for (size_t i = hash_pair(key) & mask; b->pair_key[i] != EMPTY_PAIR; i = (i + 1) & mask) {
        if (b->pair_key[i] == key) {
            *result = b->pair_result[i];
            return b->pair_rank[i];
        }
    }
    return INT32_MAX;
}

static iid_status load_merges(iid_bpe_t *b, const char *path, iid_error_t *err)
{
    char *text;
    size_t size;
    IID_TRY(iid__file_read_all(path, MAX_FILE, &text, &size, err));
    /* Python's strip(): surrounding whitespace does not count as lines. */
    char *p = text, *end = text + size;
    while (p < end && (is_merge_space(*p) || *p == '\n')) p++;
    while (end > p && (is_merge_space(end[-1]) || end[-1] == '\n')) end--;
    size_t lines = 0;
    for (char *q = p; q < end; q++) lines += *q == '\n';
    size_t n_merges = lines < CLIP_MAX_MERGES ? lines : CLIP_MAX_MERGES;
    b->pair_cap = 16;
    while (b->pair_cap < 2 * n_merges + 2) b->pair_cap *= 2;
    b->pair_key = malloc(b->pair_cap * sizeof *b->pair_key);
    b->pair_rank = malloc(b->pair_cap * sizeof *b->pair_rank);
    b->pair_result = malloc(b->pair_cap * sizeof *b->pair_result);
    if (!b->pair_key || !b->pair_rank || !b->pair_result) {
        free(text);
        return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory for %zu merges", path, n_merges);
    }
    memset(b->pair_key, 0xff, b->pair_cap * sizeof *b->pair_key);

    char *line = memchr(p, '\n', (size_t)(end - p)); /* skip the "#version" line */
    line = line ? line + 1 : end;
    iid_status s = IID_OK;
    char *joined = NULL;
    size_t joined_cap = 0;
    for (size_t rank = 0; rank < n_merges && line < end && s == IID_OK; rank++) {
        char *eol = memchr(line, '\n', (size_t)(end - line));
        if (!eol) eol = end;
        /* Split on whitespace; a line without exactly two parts still uses a rank. */
        const char *part[3];
        size_t plen[3];
        int nparts = 0;
        for (char *q = line; q < eol;) {
            while (q < eol && is_merge_space(*q)) q++;
            if (q == eol) break;
            char *w = q;
            while (q < eol && !is_merge_space(*q)) q++;
            if (nparts < 3) {
                part[nparts] = w;
                plen[nparts] = (size_t)(q - w);
            }
            nparts++;
        }
        if (nparts == 2) {
            if (plen[0] + plen[1] + 1 > joined_cap) {
                joined_cap = 2 * (plen[0] + plen[1] + 1);
                char *nj = realloc(joined, joined_cap);
                if (!nj) {
                    s = iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", path);
                    break;
                }
                joined = nj;
            }
            memcpy(joined, part[0], plen[0]);
            memcpy(joined + plen[0], part[1], plen[1]);
            int32_t l, r, m;
            s = intern(b, part[0], plen[0], &l, err);
            if (s == IID_OK) s = intern(b, part[1], plen[1], &r, err);
            if (s == IID_OK) s = intern(b, joined, plen[0] + plen[1], &m, err);
            if (s == IID_OK) pair_put(b, l, r, (int32_t)rank, m);
        }
        line = eol + 1;
    }
    free(joined);
    free(text);
    return s;
}

/* GPT-2's bytes_to_unicode: printable Latin-1 bytes map to themselves, the others
 * to U+0100 upwards in byte order. */
static void build_byte_map(uint32_t map[256])
{
    uint32_t next = 256;
    for (int c = 0; c < 256; c++) {
        int printable = (c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF);
        map[c] = printable ? (uint32_t)c : next++;
    }
}

/* The byte-level string of a word: at most two UTF-8 bytes per input byte. */
static size_t byte_encode(const iid_bpe_t *b, const unsigned char *word, size_t len, char *out)
{
    size_t k = 0;
    for (size_t i = 0; i < len; i++)
        k += (size_t)utf8proc_encode_char((utf8proc_int32_t)b->byte_cp[word[i]], (utf8proc_uint8_t *)out + k);
    return k;
}

iid_status iid__bpe_load(iid_bpe_t **out, const char *vocab_path, const char *merges_path, iid_error_t *err)
{
    *out = NULL;
    iid_bpe_t *b = calloc(1, sizeof *b);
    if (!b) return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", vocab_path);
    b->sym_table_cap = 1 << 17;
    b->sym_table = malloc(b->sym_table_cap * sizeof *b->sym_table);
    if (!b->sym_table) {
        free(b);
        return iid__fail(err, IID_ERR_NOMEM, "%s: out of memory", vocab_path);
    }
    memset(b->sym_table, 0xff, b->sym_table_cap * sizeof *b->sym_table);
    build_byte_map(b->byte_cp);
    iid_status s = load_vocab(b, vocab_path, err);
    if (s == IID_OK) s = load_merges(b, merges_path, err);
    for (int c = 0; c < 256 && s == IID_OK; c++) {
        char buf[8];
        size_t n = (size_t)utf8proc_encode_char((utf8proc_int32_t)b->byte_cp[c], (utf8proc_uint8_t *)buf);
        b->byte_sym[0][c] = find_sym(b, buf, n);
        memcpy(buf + n, "</w>", 4);
        b->byte_sym[1][c] = find_sym(b, buf, n + 4);
    }
    if (s != IID_OK) {
        iid__bpe_free(b);
        return s;
    }
    *out = b;
    return IID_OK;
}

void iid__bpe_free(iid_bpe_t *b)
{
    if (!b) return;
    free(b->pool);
    free(b->syms);
    free(b->sym_id);
    free(b->sym_table);
    free(b->id_sym);
    free(b->pair_key);
    free(b->pair_rank);
    free(b->pair_result);
    free(b);
}

iid_status iid__bpe_add_token(iid_bpe_t *b, const char *token, int64_t id, int verbatim, iid_error_t *err)
{
    int32_t k;
    IID_TRY(intern(b, token, strlen(token), &k, err));
    IID_TRY(set_id(b, k, id, "tokenizer added token", err));
    if (verbatim) {
        if (b->n_verbatim == MAX_VERBATIM)
            return iid__fail(err, IID_ERR_RANGE, "tokenizer: more than %d verbatim tokens", MAX_VERBATIM);
        b->verbatim[b->n_verbatim++] = k;
    }
    return IID_OK;
}

int64_t iid__bpe_token_id(const iid_bpe_t *b, const char *token, size_t len)
{
    int32_t k = find_sym(b, token, len);
    return k < 0 ? -1 : b->sym_id[k];
}

const char *iid__bpe_id_token(const iid_bpe_t *b, int64_t id)
{
    if (id < 0 || id >= b->id_limit || b->id_sym[id] < 0) return NULL;
    return b->pool + b->syms[b->id_sym[id]].off;
}

int64_t iid__bpe_id_limit(const iid_bpe_t *b) { return b->id_limit; }

iid_status iid__id_list_push(iid_id_list_t *l, int64_t id, iid_error_t *err)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        int64_t *n = realloc(l->ids, cap * sizeof *n);
        if (!n) return iid__fail(err, IID_ERR_NOMEM, "tokenizer: out of memory for %zu ids", cap);
        l->ids = n;
        l->cap = cap;
    }
    l->ids[l->n++] = id;
    return IID_OK;
}

static int64_t sym_to_id(const iid_bpe_t *b, int32_t sym, int64_t unk_id)
{
    return (sym >= 0 && b->sym_id[sym] >= 0) ? b->sym_id[sym] : unk_id;
}

iid_status iid__bpe_encode_word(const iid_bpe_t *b, const unsigned char *word, size_t len, int64_t unk_id,
                                iid_id_list_t *out, iid_error_t *err)
{
    if (len == 0) return IID_OK;
    if (len > SIZE_MAX / 4) return iid__fail(err, IID_ERR_RANGE, "tokenizer: word of %zu bytes is too long", len);
    if (b->n_verbatim > 0) {
        char *enc = malloc(2 * len);
        if (!enc) return iid__fail(err, IID_ERR_NOMEM, "tokenizer: out of memory for a %zu-byte word", len);
        size_t elen = byte_encode(b, word, len, enc);
        for (int i = 0; i < b->n_verbatim; i++) {
            const sym_t *v = &b->syms[b->verbatim[i]];
            if (v->len == elen && memcmp(b->pool + v->off, enc, elen) == 0) {
                free(enc);
                return iid__id_list_push(out, sym_to_id(b, b->verbatim[i], unk_id), err);
            }
        }
        free(enc);
    }
    int32_t *w = malloc(len * sizeof *w);
    if (!w) return iid__fail(err, IID_ERR_NOMEM, "tokenizer: out of memory for a %zu-byte word", len);
    size_t m = len;
    for (size_t i = 0; i < m; i++) w[i] = b->byte_sym[i + 1 == m][word[i]];
    while (m > 1) {
        int32_t best = INT32_MAX, left = -1, right = -1, merged = -1;
        for (size_t i = 0; i + 1 < m; i++) {
            int32_t res;
            int32_t r = pair_get(b, w[i], w[i + 1], &res);
            if (r < best) {
                best = r;
                left = w[i];
                right = w[i + 1];
                merged = res;
            }
        }
        if (best == INT32_MAX) break;
        size_t k = 0;
        for (size_t i = 0; i < m;) {
            if (i + 1 < m && w[i] == left && w[i + 1] == right) {
                w[k++] = merged;
                i += 2;
            } else w[k++] = w[i++];
        }
        m = k;
    }
    iid_status s = IID_OK;
    for (size_t i = 0; i < m && s == IID_OK; i++) s = iid__id_list_push(out, sym_to_id(b, w[i], unk_id), err);
    free(w);
    return s;
}
