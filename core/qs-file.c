/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <sys/stat.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "qs-file.h"

/* stat () and not g_file_query_info: one system call, and st_dev/st_ino to compare. The check
 * comes before the open; a file swapped for a FIFO in between still blocks, but no file a
 * user picks by mistake (or a hostile name in a script) does. */

static const char *
kind_of (mode_t mode)
{
  if (S_ISDIR (mode))
    return _("a folder");
  if (S_ISFIFO (mode))
    return _("a named pipe");
  if (S_ISCHR (mode))
    return _("a character device");
  if (S_ISBLK (mode))
    return _("a block device");
  if (S_ISSOCK (mode))
    return _("a socket");
  return _("not a plain file");
}

gboolean
qs_file_check_regular (const char  *path,
                       GError     **error)
{
  GStatBuf st;

  g_return_val_if_fail (path != NULL, FALSE);

  if (g_stat (path, &st) != 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   _("Cannot open “%s”: %s"), path, g_strerror (saved));
      return FALSE;
    }
  if (!S_ISREG (st.st_mode))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE,
                   _("“%s” is not a regular file (it is %s); Quantscope reads only regular files"),
                   path, kind_of (st.st_mode));
      return FALSE;
    }
  return TRUE;
}

gboolean
qs_file_check_writable (const char  *path,
                        GError     **error)
{
  GStatBuf st;

  g_return_val_if_fail (path != NULL, FALSE);

  if (g_stat (path, &st) != 0)
    return TRUE;   /* a new file; creating it reports any other problem */
  if (!S_ISREG (st.st_mode))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE,
                   _("“%s” is not a regular file (it is %s); Quantscope writes only regular files or new paths"),
                   path, kind_of (st.st_mode));
      return FALSE;
    }
  return TRUE;
}

gboolean
qs_file_is_same (const char *a,
                 const char *b)
{
  GStatBuf sa, sb;

  if (a == NULL || b == NULL || g_stat (a, &sa) != 0 || g_stat (b, &sb) != 0)
    return FALSE;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* The file names in `inputs` (NULL-terminated; NULL or special entries such as "sample" that
 * are no file are fine) are what one command reads: writing `output` over one of them would
 * destroy it before (or while) it is read. */
gboolean
qs_file_check_not_input (const char         *output,
                         const char * const *inputs,
                         GError            **error)
{
  g_return_val_if_fail (output != NULL, FALSE);

  if (!qs_file_check_writable (output, error))
    return FALSE;
  for (guint i = 0; inputs != NULL && inputs[i] != NULL; i++)
    if (qs_file_is_same (output, inputs[i]))
      {
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                     _("“%s” is also an input of this command (“%s”); write the result to another file"),
                     output, inputs[i]);
        return FALSE;
      }
  return TRUE;
}

gboolean
qs_json_text_depth_ok (const char *json,
                       gsize       length,
                       guint       max_depth)
{
  guint depth = 0;
  gboolean in_string = FALSE;

  g_return_val_if_fail (json != NULL || length == 0, FALSE);

  for (gsize i = 0; i < length; i++)
    {
      char c = json[i];

      if (in_string)
        {
          if (c == '\\')
            i++;
          else if (c == '"')
            in_string = FALSE;
          continue;
        }
      if (c == '"')
        in_string = TRUE;
      else if (c == '[' || c == '{')
        {
          if (++depth > max_depth)
            return FALSE;
        }
      else if ((c == ']' || c == '}') && depth > 0)
        depth--;
    }
  return TRUE;
}
