/* filter.c: --focus and --hide, pprof's frame filters, applied to a loaded
 * profile in place on frames named as aggregation names them (funcs.c).
 * Contracts in common.h ("frame filters"). */
#include "common.h"

#include <stdlib.h>

/* ---- frame filters ---- */

int cli_filter_set(cli_filter *f, const char *cmd, int opt, const char *re) {
  bool hide = opt == CLI_OPT_HIDE;
  regex_t *rx = hide ? &f->hide : &f->focus;
  bool *has = hide ? &f->has_hide : &f->has_focus;
  regex_t fresh;
  int e = regcomp(&fresh, re, REG_EXTENDED | REG_NOSUB);
  if (e != 0) {
    char msg[160];
    regerror(e, &fresh, msg, sizeof msg);
    cli_usage_error(cmd, "--%s: invalid regular expression '%s': %s", hide ? "hide" : "focus", re,
                    msg);
    return -1;
  }
  if (*has) regfree(rx);
  *rx = fresh;
  *has = true;
  if (hide)
    f->hide_src = re;
  else
    f->focus_src = re;
  return 0;
}

bool cli_filter_active(const cli_filter *f) { return f->has_hide || f->has_focus; }

char *cli_filter_text(const cli_filter *f, char *buf, size_t len) {
  snprintf(buf, len, "%s%s%s%s%s", f->has_focus ? "--focus " : "", f->has_focus ? f->focus_src : "",
           f->has_focus && f->has_hide ? " " : "", f->has_hide ? "--hide " : "",
           f->has_hide ? f->hide_src : "");
  return buf;
}

void cli_filter_free(cli_filter *f) {
  if (f->has_hide) regfree(&f->hide);
  if (f->has_focus) regfree(&f->focus);
  *f = (cli_filter){0};
}

int cli_filter_apply(const cli_filter *f, profile_pb *p) {
  if (!cli_filter_active(f)) return 0;
  int rc = -1;
  char err[CLI_ERRLEN];
  /* Only lines and samples go: positions stay right (profile_index.h). */
  profile_index *own_ix = NULL; /* for a profile without one of its own */
  const profile_index *ix = profile_index_use(p, &own_ix, err, sizeof err);
  bool *focused = calloc(p->n_location + 1, sizeof *focused);
  bool *hidden = calloc(p->n_location + 1, sizeof *hidden);
  bool *flags = NULL; /* per frame of one location: hidden */
  size_t nflags = 0;
  if (!ix || !focused || !hidden) goto done;
  /* Per location: whether a frame matches --focus (names before hiding),
   * then its lines without the hidden ones; a location left with no frame
   * is hidden as a whole. */
  for (size_t i = 0; i < p->n_location; i++) {
    Perftools__Profiles__Location *l = p->location[i];
    size_t n = l->n_line ? l->n_line : 1, kept = 0;
    if (n > nflags) {
      free(flags);
      nflags = n;
      if (!(flags = malloc(nflags * sizeof *flags))) goto done;
    }
    for (size_t j = 0; j < n; j++) {
      char addr[24];
      const char *name = cli_frame_name(p, ix, l, j, addr);
      if (f->has_focus && !focused[i] && regexec(&f->focus, name, 0, NULL, 0) == 0)
        focused[i] = true;
      flags[j] = f->has_hide && regexec(&f->hide, name, 0, NULL, 0) == 0;
      if (!flags[j]) kept++;
    }
    hidden[i] = kept == 0;
    if (!l->n_line || kept == 0 || kept == n) continue;
    /* Some frames of an inlined chain hidden: drop their lines. */
    size_t w = 0;
    for (size_t j = 0; j < l->n_line; j++) {
      if (flags[j])
        perftools__profiles__line__free_unpacked(l->line[j], NULL);
      else
        l->line[w++] = l->line[j];
    }
    l->n_line = w;
  }
  size_t kept = 0;
  for (size_t i = 0; i < p->n_sample; i++) {
    Perftools__Profiles__Sample *s = p->sample[i];
    bool keep = !f->has_focus;
    size_t w = 0;
    for (size_t k = 0; k < s->n_location_id; k++) {
      long li = profile_index_location(ix, s->location_id[k]);
      if (li >= 0 && focused[li]) keep = true;
      if (li < 0 || !hidden[li]) s->location_id[w++] = s->location_id[k];
    }
    s->n_location_id = w;
    if (keep)
      p->sample[kept++] = s;
    else
      perftools__profiles__sample__free_unpacked(s, NULL);
  }
  p->n_sample = kept;
  rc = 0;
done:
  if (rc != 0 && !ix)
    cli_error("%s", err);
  else if (rc != 0)
    cli_error("out of memory filtering frames");
  profile_index_free(own_ix);
  free(focused);
  free(hidden);
  free(flags);
  return rc;
}
