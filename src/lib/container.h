/* SPDX-License-Identifier: MIT */
#pragma once
/* Internal code includes the public header by this name. */
#include <husk/container.h>
