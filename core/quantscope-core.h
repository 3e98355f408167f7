/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Umbrella header of libquantscope-core. */
#include "qs-tensor.h"
#include "qs-data.h"
#include "qs-file.h"
#include "qs-parallel.h"
#include "qs-stats.h"
#include "qs-quant.h"
#include "qs-model.h"
#include "qs-preprocess.h"
#include "qs-dataset.h"
#include "qs-engine-float.h"
#include "qs-enums.h"
/* quantization (issue 2) */
#include "qs-formats.h"
#include "qs-range.h"
/* integer engine (issue 4) */
#include "qs-fixedpoint.h"
#include "qs-config.h"
#include "qs-calib.h"
#include "qs-act-stats.h"
#include "qs-engine-int.h"
#include "qs-lowering.h"
#include "qs-kernels.h"
#include "qs-eval.h"
#include "qs-attribution.h"
#include "qs-export.h"
#include "qs-synthetic.h"
#include "qs-analysis.h"
#include "qs-target.h"
/* teaching (issue 14) */
#include "qs-explain.h"
#include "qs-playground.h"
#include "qs-lesson.h"
/* training (issue 5) */
#include "qs-train.h"
