/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "quantscope-core.h"
#include "qs-kernels.h"

/* QS_KERNELS is read once per process, so each forced word runs in a subprocess. */

static void
check_forced (const char *word)
{
  const char *const *names = qs_kernels_level_names ();
  g_autofree char *why = NULL;
  const QsKernels *level = qs_kernels_get_level (word, &why);

  if (g_test_subprocess ())
    {
      const QsKernels *k;

      g_setenv (QS_KERNELS_ENV, word, TRUE);
      k = qs_kernels_get ();
      /* every family follows the forced level (or its next lower kernel) */
      g_assert_cmpstr (k->name, ==, word);
      g_assert_true (k == level);
      g_assert_true (qs_int_kernels_get () == k->int_kernels);
      g_assert_true (qs_quant_kernels () == k->quant_kernels);
      g_assert_true (qs_float_kernels_get () == k->float_kernels);
      g_assert_cmpstr (qs_int_kernels_get ()->name, ==, word);
      g_assert_cmpstr (qs_quant_kernels ()->name, ==, word);
      /* the float family has nothing above avx2: it keeps its avx2 kernels at avx512 */
      g_assert_true (k->float_kernels == qs_float_kernels_get_by_name (word)
                     || (g_str_equal (word, "avx512")
                         && k->float_kernels == qs_float_kernels_get_by_name ("avx2")));
      return;
    }
  g_assert_true (g_strv_contains (names, word));
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  if (level != NULL)
    g_test_trap_assert_passed ();
  else
    {
      /* a level the build or CPU lacks fails loudly, naming the word and the valid ones */
      g_test_message ("%s: %s", word, why);
      g_test_trap_assert_failed ();
      g_test_trap_assert_stderr ("*QS_KERNELS=*");
      g_test_trap_assert_stderr ("*Valid words: auto ref avx2 avx512*");
    }
}

static void
test_forced (gconstpointer data)
{
  check_forced (data);
}

/* Unknown words (including the old per-family ones) abort instead of falling back. */
static void
test_unknown (gconstpointer data)
{
  const char *word = data;

  if (g_test_subprocess ())
    {
      g_setenv (QS_KERNELS_ENV, word, TRUE);
      qs_kernels_get ();
      return;
    }
  g_assert_null (qs_kernels_get_level (word, NULL));
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*QS_KERNELS=*not a kernel level*Valid words: auto ref avx2 avx512*");
}

/* Unset or "auto": every family takes the highest kernel of its own this CPU runs. */
static void
test_auto (gconstpointer data)
{
  const char *const *names = qs_kernels_level_names ();
  const QsIntKernels *best_int = NULL;
  const QsQuantKernels *best_quant = NULL;
  const QsFloatKernels *best_float = NULL;
  const QsKernels *k;

  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
      g_test_trap_assert_passed ();
      return;
    }
  if (data != NULL)
    g_setenv (QS_KERNELS_ENV, data, TRUE);
  else
    g_unsetenv (QS_KERNELS_ENV);
  k = qs_kernels_get ();
  for (guint i = 0; names[i] != NULL; i++)
    {
      if (qs_int_kernels_get_by_name (names[i]) != NULL)
        best_int = qs_int_kernels_get_by_name (names[i]);
      if (qs_quant_kernels_get (names[i]) != NULL)
        best_quant = qs_quant_kernels_get (names[i]);
      if (qs_float_kernels_get_by_name (names[i]) != NULL)
        best_float = qs_float_kernels_get_by_name (names[i]);
    }
  g_assert_true (k->float_kernels == best_float);
  g_assert_true (k->int_kernels == best_int);
  g_assert_true (k->quant_kernels == best_quant);
  g_assert_true (qs_int_kernels_get () == best_int);
  g_assert_true (qs_quant_kernels () == best_quant);
  g_test_message ("auto: %s (int %s, quant %s, float %s)", k->name, k->int_kernels->name,
                  k->quant_kernels->name, k->float_kernels->name);
}

/* The level lookup agrees with each family's own lookup. */
static void
test_levels (void)
{
  const char *const *names = qs_kernels_level_names ();

  g_assert_cmpstr (names[0], ==, "ref");
  g_assert_nonnull (qs_kernels_get_level ("ref", NULL));
  for (guint i = 0; names[i] != NULL; i++)
    {
      const QsKernels *l = qs_kernels_get_level (names[i], NULL);

      if (l == NULL)
        continue;
      g_assert_cmpstr (l->name, ==, names[i]);
      g_assert_true (l->int_kernels == qs_int_kernels_get_by_name (names[i]));
      g_assert_true (l->quant_kernels == qs_quant_kernels_get (names[i]));
      if (qs_float_kernels_get_by_name (names[i]) != NULL)
        g_assert_true (l->float_kernels == qs_float_kernels_get_by_name (names[i]));
    }
}

int
main (int   argc,
      char *argv[])
{
  const char *const *names;

  g_test_init (&argc, &argv, NULL);
  names = qs_kernels_level_names ();
  g_test_add_func ("/qs/kernels/levels", test_levels);
  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autofree char *path = g_strdup_printf ("/qs/kernels/forced/%s", names[i]);

      g_test_add_data_func (path, names[i], test_forced);
    }
  g_test_add_data_func ("/qs/kernels/auto/unset", NULL, test_auto);
  g_test_add_data_func ("/qs/kernels/auto/word", "auto", test_auto);
  g_test_add_data_func ("/qs/kernels/unknown/scalar", "scalar", test_unknown);
  g_test_add_data_func ("/qs/kernels/unknown/avx512vnni", "avx512vnni", test_unknown);
  g_test_add_data_func ("/qs/kernels/unknown/bogus", "AVX2", test_unknown);
  return g_test_run ();
}
