/* mprof_cfi.c: runs a function's DWARF call frame program (its CIE's initial
 * instructions, then its FDE's) up to one code address and keeps the three
 * rules a stack walker needs: the CFA, the return address and rbp. Every
 * other register's rule is parsed and dropped. Anything the walker cannot
 * follow with two loads (a CFA computed by an expression, a signal frame, a
 * CFA based on a register other than rsp or rbp, a return address not at
 * CFA - 8) makes the rule CFI_UNSUPPORTED, and stack.c hands that stack to
 * a full unwinder. Format: the DWARF 4 standard, section 6.4, with the
 * .eh_frame changes of the Linux Standard Base (CIE id 0, a relative CIE
 * pointer, augmentation data, pointer encodings). Overview: mprof.h. */
#include <string.h>

#include "mprof_cfi.h"

/* ---- Reading the bytes ----------------------------------------------------- */

/* A bounded cursor: a read past end sets bad and returns 0, so the parser
 * checks once per instruction instead of once per byte. */
struct cursor {
  const uint8_t *p, *end;
  int bad;
};

static uint64_t read_u8(struct cursor *c) {
  if (c->p >= c->end) {
    c->bad = 1;
    return 0;
  }
  return *c->p++;
}

static uint64_t read_fixed(struct cursor *c, unsigned n) {
  if ((size_t)(c->end - c->p) < n) {
    c->bad = 1;
    c->p = c->end;
    return 0;
  }
  uint64_t v = 0;
  memcpy(&v, c->p, n); /* x86-64 is little-endian, as is its .eh_frame */
  c->p += n;
  return v;
}

static uint64_t read_uleb(struct cursor *c) {
  uint64_t v = 0;
  for (unsigned shift = 0;; shift += 7) {
    uint64_t b = read_u8(c);
    if (shift < 64) v |= (b & 0x7f) << shift;
    if (!(b & 0x80) || c->bad) return v;
  }
}

static int64_t read_sleb(struct cursor *c) {
  uint64_t v = 0;
  unsigned shift = 0;
  uint64_t b;
  do {
    b = read_u8(c);
    if (shift < 64) v |= (b & 0x7f) << shift;
    shift += 7;
  } while ((b & 0x80) && !c->bad);
  if (shift < 64 && (b & 0x40)) v |= ~(uint64_t)0 << shift;
  return (int64_t)v;
}

/* Pointer encodings (LSB, "DWARF Extensions"): the low four bits give the
 * format; the walker never needs the value of an encoded pointer (the FDE's
 * start comes from _Unwind_Find_FDE), only its length, to skip it. */
#define DW_EH_PE_omit 0xff
static void skip_encoded(struct cursor *c, uint8_t enc) {
  if (enc == DW_EH_PE_omit) return;
  if ((enc & 0x70) == 0x50) { /* aligned: padding we do not track */
    c->bad = 1;
    return;
  }
  switch (enc & 0x0f) {
    case 0x00: read_fixed(c, 8); break; /* absptr */
    case 0x01:
    case 0x09: read_uleb(c); break; /* uleb128, sleb128 */
    case 0x02:
    case 0x0a: read_fixed(c, 2); break; /* udata2, sdata2 */
    case 0x03:
    case 0x0b: read_fixed(c, 4); break; /* udata4, sdata4 */
    case 0x04:
    case 0x0c: read_fixed(c, 8); break; /* udata8, sdata8 */
    default: c->bad = 1;
  }
}

/* An entry's extent: its 4-byte length, or 0xffffffff and an 8-byte one.
 * Sets *body to the first byte after the length and returns the cursor
 * over the rest of the entry. */
static struct cursor entry_at(const uint8_t *p, const uint8_t **body) {
  struct cursor c = {p, p + 12, 0};
  uint64_t len = read_fixed(&c, 4);
  if (len == 0xffffffffu) len = read_fixed(&c, 8);
  *body = c.p;
  /* An entry is far smaller than this; a bigger length is corruption. */
  if (c.bad || len == 0 || len > (1u << 24)) return (struct cursor){c.p, c.p, 1};
  return (struct cursor){c.p, c.p + len, 0};
}

/* ---- The rules --------------------------------------------------------------- */

enum reg_rule { SAME, AT_OFFSET, UNDEFINED, OTHER };

struct frame_state {
  uint64_t cfa_reg;
  uint8_t cfa_expr; /* the CFA is an expression: unsupported */
  int64_t cfa_offset;
  uint8_t rbp_rule, ra_rule; /* enum reg_rule */
  int64_t rbp_offset, ra_offset;
};

struct cie_info {
  uint64_t code_align;
  int64_t data_align;
  uint64_t ra_reg;
  uint8_t fde_enc;
  int has_aug_data; /* 'z': FDEs carry an augmentation length */
  int signal_frame;
  struct cursor initial; /* the CIE's initial instructions */
};

static int parse_cie(const uint8_t *cie, struct cie_info *out) {
  const uint8_t *body;
  struct cursor c = entry_at(cie, &body);
  if (c.bad || read_fixed(&c, 4) != 0) return -1; /* CIE id is 0 in .eh_frame */
  uint64_t version = read_u8(&c);
  if (version != 1 && version != 3 && version != 4) return -1;
  const uint8_t *aug = c.p;
  while (read_u8(&c) != 0 && !c.bad) {
  }
  if (c.bad || (aug[0] != 0 && aug[0] != 'z')) return -1; /* "eh" and the like: pre-2000 */
  if (version == 4) read_fixed(&c, 2);                    /* address and segment sizes */
  out->code_align = read_uleb(&c);
  out->data_align = read_sleb(&c);
  out->ra_reg = version == 1 ? read_u8(&c) : read_uleb(&c);
  out->fde_enc = 0; /* absptr */
  out->has_aug_data = aug[0] == 'z';
  out->signal_frame = 0;
  if (out->has_aug_data) {
    uint64_t len = read_uleb(&c);
    if (c.bad || len > (uint64_t)(c.end - c.p)) return -1;
    struct cursor a = {c.p, c.p + len, 0};
    /* An unknown letter ends the walk: the length skips what is left. */
    for (const uint8_t *k = aug + 1; *k != 0 && !a.bad && strchr("RLPS", *k) != NULL; k++) {
      if (*k == 'R')
        out->fde_enc = (uint8_t)read_u8(&a);
      else if (*k == 'L')
        read_u8(&a); /* LSDA encoding: FDE data is skipped whole */
      else if (*k == 'P')
        skip_encoded(&a, (uint8_t)read_u8(&a));
      else
        out->signal_frame = 1; /* 'S' */
    }
    if (a.bad) return -1;
    c.p += len;
  }
  if (c.bad) return -1;
  out->initial = c;
  return 0;
}

/* n * align without signed overflow: a product that does not fit saturates,
 * and the range checks at the end reject it. */
static int64_t scaled(int64_t n, int64_t align) {
  int64_t r;
  return __builtin_mul_overflow(n, align, &r) ? INT64_MAX : r;
}

static void set_reg(struct frame_state *st, uint64_t reg, uint8_t rule, int64_t offset) {
  if (reg == CFI_REG_RBP) {
    st->rbp_rule = rule;
    st->rbp_offset = offset;
  } else if (reg == CFI_REG_RA) {
    st->ra_rule = rule;
    st->ra_offset = offset;
  }
}

static void restore_reg(struct frame_state *st, const struct frame_state *initial, uint64_t reg) {
  if (reg == CFI_REG_RBP) {
    st->rbp_rule = initial->rbp_rule;
    st->rbp_offset = initial->rbp_offset;
  } else if (reg == CFI_REG_RA) {
    st->ra_rule = initial->ra_rule;
    st->ra_offset = initial->ra_offset;
  }
}

#define REMEMBER_DEPTH 8

/* The interpreter of one call frame program: the row being built, the
 * CIE's initial row (for restore), and the rows remember_state saved. */
struct cfa_machine {
  const struct cie_info *cie;
  struct frame_state *st;
  const struct frame_state *initial;
  struct frame_state saved[REMEMBER_DEPTH];
  int nsaved;
};

/* What one instruction asks of the loop in run_program: nothing more, to
 * move the row's address on (by *delta code units), to skip the block of
 * an expression that follows, or to give up (bad bytes, or an instruction
 * the walker cannot use). STEP_OTHER: not an instruction of this group. */
enum step { STEP_NEXT, STEP_ADVANCE, STEP_BLOCK, STEP_BAD, STEP_OTHER };

/* The instructions that say where the CFA is, and those that save and
 * restore the whole row. */
static enum step cfa_op(struct cfa_machine *m, struct cursor *c, uint8_t op) {
  struct frame_state *st = m->st;
  switch (op) {
    case 0x0a: /* remember_state */
      if (m->nsaved == REMEMBER_DEPTH) return STEP_BAD;
      m->saved[m->nsaved++] = *st;
      return STEP_NEXT;
    case 0x0b: /* restore_state: the whole row, CFA included (an epilogue's
                  remember_state ... restore_state brings back the body's CFA) */
      if (m->nsaved == 0) return STEP_BAD;
      *st = m->saved[--m->nsaved];
      return STEP_NEXT;
    case 0x0c: /* def_cfa */
      st->cfa_reg = read_uleb(c);
      st->cfa_offset = (int64_t)read_uleb(c);
      st->cfa_expr = 0;
      return STEP_NEXT;
    case 0x0d: st->cfa_reg = read_uleb(c); return STEP_NEXT;
    case 0x0e: st->cfa_offset = (int64_t)read_uleb(c); return STEP_NEXT;
    case 0x0f: /* def_cfa_expression */ st->cfa_expr = 1; return STEP_BLOCK;
    case 0x12: /* def_cfa_sf */
      st->cfa_reg = read_uleb(c);
      st->cfa_offset = scaled(read_sleb(c), m->cie->data_align);
      st->cfa_expr = 0;
      return STEP_NEXT;
    case 0x13: st->cfa_offset = scaled(read_sleb(c), m->cie->data_align); return STEP_NEXT;
    default: return STEP_OTHER;
  }
}

/* The instructions that give a register its rule. */
static enum step register_op(struct cfa_machine *m, struct cursor *c, uint8_t op) {
  struct frame_state *st = m->st;
  int64_t align = m->cie->data_align;
  uint64_t reg;
  switch (op) {
    case 0x05: /* offset_extended */
      reg = read_uleb(c);
      set_reg(st, reg, AT_OFFSET, scaled((int64_t)read_uleb(c), align));
      return STEP_NEXT;
    case 0x06: restore_reg(st, m->initial, read_uleb(c)); return STEP_NEXT;
    case 0x07: set_reg(st, read_uleb(c), UNDEFINED, 0); return STEP_NEXT;
    case 0x08: set_reg(st, read_uleb(c), SAME, 0); return STEP_NEXT;
    case 0x09: /* register: reg is in another register */
      reg = read_uleb(c);
      read_uleb(c);
      set_reg(st, reg, OTHER, 0);
      return STEP_NEXT;
    case 0x10: /* expression */
    case 0x16: /* val_expression */ set_reg(st, read_uleb(c), OTHER, 0); return STEP_BLOCK;
    case 0x11: /* offset_extended_sf */
      reg = read_uleb(c);
      set_reg(st, reg, AT_OFFSET, scaled(read_sleb(c), align));
      return STEP_NEXT;
    case 0x14: /* val_offset */
      reg = read_uleb(c);
      read_uleb(c);
      set_reg(st, reg, OTHER, 0);
      return STEP_NEXT;
    case 0x15: /* val_offset_sf */
      reg = read_uleb(c);
      read_sleb(c);
      set_reg(st, reg, OTHER, 0);
      return STEP_NEXT;
    case 0x2e: read_uleb(c); return STEP_NEXT; /* GNU_args_size: for landing pads only */
    case 0x2f:                                 /* GNU_negative_offset_extended */
      reg = read_uleb(c);
      set_reg(st, reg, AT_OFFSET, scaled(scaled((int64_t)read_uleb(c), align), -1));
      return STEP_NEXT;
    default: return STEP_BAD;
  }
}

/* One instruction, op, its operands read from c. */
static enum step run_op(struct cfa_machine *m, struct cursor *c, uint8_t op, uint64_t *delta) {
  uint8_t low = op & 0x3f;
  switch (op >> 6) {
    case 1: /* DW_CFA_advance_loc */ *delta = low; return STEP_ADVANCE;
    case 2: /* DW_CFA_offset */
      set_reg(m->st, low, AT_OFFSET, scaled((int64_t)read_uleb(c), m->cie->data_align));
      return STEP_NEXT;
    case 3: /* DW_CFA_restore */ restore_reg(m->st, m->initial, low); return STEP_NEXT;
  }
  switch (op) {
    case 0x00: return STEP_NEXT; /* nop */
    case 0x01: return STEP_BAD;  /* set_loc: not emitted by GCC or Clang */
    case 0x02: *delta = read_fixed(c, 1); return STEP_ADVANCE;
    case 0x03: *delta = read_fixed(c, 2); return STEP_ADVANCE;
    case 0x04: *delta = read_fixed(c, 4); return STEP_ADVANCE;
  }
  enum step s = cfa_op(m, c, op);
  return s != STEP_OTHER ? s : register_op(m, c, op);
}

/* Runs the instructions in c while the row's address (*loc) is at most pc.
 * Returns 0, or -1 on an instruction the walker cannot use or bad bytes. */
static int run_program(struct cursor c, const struct cie_info *cie, struct frame_state *st,
                       const struct frame_state *initial, uintptr_t *loc, uintptr_t pc) {
  struct cfa_machine m = {.cie = cie, .st = st, .initial = initial, .nsaved = 0};
  while (c.p < c.end) {
    uint64_t delta = 0, len;
    switch (run_op(&m, &c, (uint8_t)read_u8(&c), &delta)) {
      case STEP_NEXT: break;
      case STEP_ADVANCE: {
        if (c.bad) return -1;
        uintptr_t next = *loc + delta * cie->code_align;
        if (next > pc) return 0; /* the row in effect at pc is the current one */
        *loc = next;
        break;
      }
      case STEP_BLOCK:
        len = read_uleb(&c);
        if (c.bad || len > (uint64_t)(c.end - c.p)) return -1;
        c.p += len;
        break;
      default: return -1;
    }
  }
  return c.bad ? -1 : 0;
}

/* ---- The entry point ------------------------------------------------------------ */

static struct cfi_rule unsupported(void) { return (struct cfi_rule){.kind = CFI_UNSUPPORTED}; }

struct cfi_rule cfi_rule_at(const uint8_t *fde, uintptr_t func, uintptr_t pc) {
  const uint8_t *body;
  struct cursor c = entry_at(fde, &body);
  uint64_t cie_ptr = read_fixed(&c, 4);
  if (c.bad || cie_ptr == 0) return unsupported(); /* 0 would be a CIE */
  struct cie_info cie;
  if (parse_cie(body - cie_ptr, &cie) != 0 || cie.signal_frame || cie.ra_reg != CFI_REG_RA)
    return unsupported();
  skip_encoded(&c, cie.fde_enc); /* pc_begin: func already has it */
  /* pc_range: an FDE found by a search of the sorted table (stack.c) is
   * the last that starts at or before pc, which need not cover it (code
   * without CFI lies between FDEs): such a pc has no rule */
  uint64_t range = 0;
  switch (cie.fde_enc & 0x0f) {
    case 0x00:
    case 0x04:
    case 0x0c: range = read_fixed(&c, 8); break;
    case 0x02:
    case 0x0a: range = read_fixed(&c, 2); break;
    case 0x03:
    case 0x0b: range = read_fixed(&c, 4); break;
    default:
      skip_encoded(&c, cie.fde_enc & 0x0f);
      range = UINT64_MAX;
      break;
  }
  if (c.bad) return unsupported();
  if (pc < func || pc - func >= range) return (struct cfi_rule){.kind = CFI_OUTERMOST};
  if (cie.has_aug_data) {
    uint64_t len = read_uleb(&c);
    if (c.bad || len > (uint64_t)(c.end - c.p)) return unsupported();
    c.p += len;
  }
  if (c.bad) return unsupported();

  struct frame_state st = {.cfa_reg = CFI_REG_RSP, .rbp_rule = SAME, .ra_rule = SAME};
  uintptr_t loc = func;
  if (run_program(cie.initial, &cie, &st, &st, &loc, UINTPTR_MAX) != 0) return unsupported();
  struct frame_state initial = st;
  loc = func;
  if (run_program(c, &cie, &st, &initial, &loc, pc) != 0) return unsupported();

  if (st.ra_rule == UNDEFINED) return (struct cfi_rule){.kind = CFI_OUTERMOST};
  if (st.cfa_expr || (st.cfa_reg != CFI_REG_RSP && st.cfa_reg != CFI_REG_RBP) ||
      st.cfa_offset < INT32_MIN || st.cfa_offset > INT32_MAX || st.ra_rule != AT_OFFSET ||
      st.ra_offset != -8 || (st.rbp_rule != SAME && st.rbp_rule != AT_OFFSET) ||
      st.rbp_offset < INT16_MIN || st.rbp_offset > INT16_MAX)
    return unsupported();
  struct cfi_rule r = {.kind = CFI_STEP, .cfa_offset = (int32_t)st.cfa_offset};
  if (st.cfa_reg == CFI_REG_RBP) r.flags |= CFI_CFA_RBP;
  if (st.rbp_rule == AT_OFFSET) {
    r.flags |= CFI_RBP_SAVED;
    r.rbp_offset = (int16_t)st.rbp_offset;
  }
  return r;
}
