/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* One function per subcommand, each in its own qs-cli-NAME.c. Add yours here and in
 * the table in qs-cli.c (and to cli_sources in app/meson.build). */

int qs_cli_bench       (int argc, char **argv);
int qs_cli_plot        (int argc, char **argv);
int qs_cli_info        (int argc, char **argv);
int qs_cli_predict     (int argc, char **argv);
int qs_cli_train       (int argc, char **argv);
int qs_cli_qat         (int argc, char **argv);
int qs_cli_eval        (int argc, char **argv);
int qs_cli_quantize    (int argc, char **argv);
int qs_cli_presets     (int argc, char **argv);
int qs_cli_sensitivity (int argc, char **argv);
int qs_cli_search      (int argc, char **argv);
int qs_cli_merge       (int argc, char **argv);
int qs_cli_check       (int argc, char **argv);
int qs_cli_export      (int argc, char **argv);
int qs_cli_import      (int argc, char **argv);
