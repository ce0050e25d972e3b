/* SPDX-License-Identifier: MIT */
#pragma once

/* What an engine includes: the husk core library's public API. */
#include <husk/container.h>
#include <husk/error.h>
#include <husk/spec.h>
