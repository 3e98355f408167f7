/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "qs-kernels.h"
#include "qs-kernels-private.h"
#include "qs-tsan.h"

/* The selection table: one row per level, one entry per family (see qs-kernels.h). */

typedef struct
{
  gconstpointer impl;                 /* NULL: nothing of its own at this level */
  gboolean    (*cpu_ok) (void);
  const char   *needs;                /* CPU features, for messages */
} Entry;

typedef struct
{
  const char *name;
  Entry       family[QS_KERNEL_N_FAMILIES];
} Level;

static const char *const family_names[QS_KERNEL_N_FAMILIES] = {
  "integer GEMM", "quantization rows", "float GEMM and depthwise",
};

static gboolean
cpu_any (void)
{
  return TRUE;
}

#ifdef QS_HAVE_SIMD_X86
static gboolean
cpu_avx2_fma (void)
{
  __builtin_cpu_init ();
  return __builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma");
}

static gboolean
cpu_avx512_vnni (void)
{
  __builtin_cpu_init ();
  return __builtin_cpu_supports ("avx512f") && __builtin_cpu_supports ("avx512bw")
         && __builtin_cpu_supports ("avx512vl") && __builtin_cpu_supports ("avx512vnni");
}

static gboolean
cpu_avx512f_avx2_fma (void)
{
  __builtin_cpu_init ();
  return __builtin_cpu_supports ("avx512f") && cpu_avx2_fma ();
}
#endif

static const Level levels[] = {
  { "ref", {
      [QS_KERNEL_FAMILY_INT]   = { &_qs_int_kernels_ref, cpu_any, "" },
      [QS_KERNEL_FAMILY_QUANT] = { &_qs_quant_kernels_ref, cpu_any, "" },
      [QS_KERNEL_FAMILY_FLOAT] = { &_qs_float_kernels_ref, cpu_any, "" },
    } },
#ifdef QS_HAVE_SIMD_X86
  { "avx2", {
      [QS_KERNEL_FAMILY_INT]   = { &_qs_int_kernels_avx2, cpu_avx2_fma, "AVX2, FMA" },
      [QS_KERNEL_FAMILY_QUANT] = { &_qs_quant_kernels_avx2, cpu_avx2_fma, "AVX2, FMA" },
      [QS_KERNEL_FAMILY_FLOAT] = { &_qs_float_kernels_avx2, cpu_avx2_fma, "AVX2, FMA" },
    } },
  { "avx512", {
      [QS_KERNEL_FAMILY_INT]   = { &_qs_int_kernels_avx512vnni, cpu_avx512_vnni,
                                   "AVX-512 F, BW, VL and VNNI" },
      [QS_KERNEL_FAMILY_QUANT] = { &_qs_quant_kernels_avx512, cpu_avx512f_avx2_fma,
                                   "AVX-512F, AVX2, FMA" },
    } },
#endif
};

/* Every word QS_KERNELS may hold, built or not. */
static const char *const level_names[] = { "ref", "avx2", "avx512", NULL };

const char *const *
qs_kernels_level_names (void)
{
  return level_names;
}

static const Level *
find_level (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (levels); i++)
    if (g_strcmp0 (levels[i].name, name) == 0)
      return &levels[i];
  return NULL;
}

gconstpointer
_qs_kernels_family_get (QsKernelFamily  family,
                        const char     *level)
{
  const Level *l = find_level (level);

  g_return_val_if_fail (family < QS_KERNEL_N_FAMILIES, NULL);

  if (l == NULL || l->family[family].impl == NULL || !l->family[family].cpu_ok ())
    return NULL;
  return l->family[family].impl;
}

static gboolean
is_level_word (const char *name)
{
  return name != NULL && g_strv_contains (level_names, name);
}

/* A level's kernels, each family taking its entry at the level or the next lower one. */
static gboolean
resolve_level (guint       index,
               QsKernels  *k,
               char      **why)
{
  gconstpointer impl[QS_KERNEL_N_FAMILIES] = { NULL };

  for (guint f = 0; f < QS_KERNEL_N_FAMILIES; f++)
    {
      const Entry *e = &levels[index].family[f];

      if (e->impl != NULL && !e->cpu_ok ())
        {
          if (why != NULL)
            *why = g_strdup_printf ("this CPU lacks %s, needed by the %s kernels", e->needs,
                                    family_names[f]);
          return FALSE;
        }
      for (guint i = index + 1; i-- > 0 && impl[f] == NULL;)
        if (levels[i].family[f].impl != NULL && levels[i].family[f].cpu_ok ())
          impl[f] = levels[i].family[f].impl;
      g_assert (impl[f] != NULL);   /* "ref" has every family and runs everywhere */
    }
  k->name = levels[index].name;
  k->int_kernels = impl[QS_KERNEL_FAMILY_INT];
  k->quant_kernels = impl[QS_KERNEL_FAMILY_QUANT];
  k->float_kernels = impl[QS_KERNEL_FAMILY_FLOAT];
  return TRUE;
}

const QsKernels *
qs_kernels_get_level (const char  *name,
                      char       **why)
{
  static QsKernels resolved[G_N_ELEMENTS (levels)];
  static gboolean ok[G_N_ELEMENTS (levels)];
  static gsize init = 0;
  const Level *l;
  guint index;

  g_return_val_if_fail (why == NULL || *why == NULL, NULL);

  if (g_once_init_enter (&init))
    {
      for (guint i = 0; i < G_N_ELEMENTS (levels); i++)
        ok[i] = resolve_level (i, &resolved[i], NULL);
      QS_TSAN_RELEASE (&init);   /* GLib's once-init is atomics ThreadSanitizer cannot see */
      g_once_init_leave (&init, 1);
    }
  QS_TSAN_ACQUIRE (&init);
  if (!is_level_word (name))
    {
      if (why != NULL)
        *why = g_strdup ("not a kernel level");
      return NULL;
    }
  l = find_level (name);
  if (l == NULL)
    {
      if (why != NULL)
        *why = g_strdup ("this build has no SIMD kernels (meson -Dsimd=false or not x86-64)");
      return NULL;
    }
  index = (guint) (l - levels);
  if (!ok[index])
    {
      QsKernels unused;

      if (why != NULL)
        resolve_level (index, &unused, why);
      return NULL;
    }
  return &resolved[index];
}

/* The levels this machine runs, for messages: "ref avx2 avx512". */
static char *
valid_words (void)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; level_names[i] != NULL; i++)
    if (qs_kernels_get_level (level_names[i], NULL) != NULL)
      g_string_append_printf (s, "%s%s", s->len > 0 ? " " : "", level_names[i]);
  return g_string_free (s, FALSE);
}

/* Every family's best kernel; the level itself when that is what one level gives. */
static const QsKernels *
choose_auto (QsKernels *k)
{
  gconstpointer impl[QS_KERNEL_N_FAMILIES] = { NULL };

  for (guint f = 0; f < QS_KERNEL_N_FAMILIES; f++)
    for (guint i = G_N_ELEMENTS (levels); i-- > 0 && impl[f] == NULL;)
      if (levels[i].family[f].impl != NULL && levels[i].family[f].cpu_ok ())
        impl[f] = levels[i].family[f].impl;
  k->name = "auto";
  k->int_kernels = impl[QS_KERNEL_FAMILY_INT];
  k->quant_kernels = impl[QS_KERNEL_FAMILY_QUANT];
  k->float_kernels = impl[QS_KERNEL_FAMILY_FLOAT];
  for (guint i = G_N_ELEMENTS (levels); i-- > 0;)
    {
      const QsKernels *l = qs_kernels_get_level (levels[i].name, NULL);

      if (l != NULL && l->int_kernels == k->int_kernels && l->quant_kernels == k->quant_kernels
          && l->float_kernels == k->float_kernels)
        return l;
    }
  return k;
}

const QsKernels *
qs_kernels_get (void)
{
  static QsKernels chosen;
  static const QsKernels *result;

  if (g_once_init_enter (&result))
    {
      const char *word = g_getenv (QS_KERNELS_ENV);
      const QsKernels *k;

      if (word == NULL || *word == '\0' || g_str_equal (word, "auto"))
        k = choose_auto (&chosen);
      else
        {
          g_autofree char *why = NULL;

          k = qs_kernels_get_level (word, &why);
          if (k == NULL)
            {
              g_autofree char *valid = valid_words ();
              g_autofree char *all = g_strjoinv (" ", (char **) level_names);

              g_error ("%s=%s: %s. Valid words: auto %s (this machine runs: auto %s)",
                       QS_KERNELS_ENV, word, why, all, valid);
            }
        }
      QS_TSAN_RELEASE (&result);
      g_once_init_leave (&result, k);
    }
  QS_TSAN_ACQUIRE (&result);
  return result;
}
