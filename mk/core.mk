# SPDX-License-Identifier: GPL-2.0-or-later
# The foundation: options, the usage table, the API thread.
