//===- Version.h - netc's version -------------------------------*- C++ -*-===//
//
// Part of netc. Licensed under the MIT License; see LICENSE.
//
//===----------------------------------------------------------------------===//

#ifndef NETC_DRIVER_VERSION_H
#define NETC_DRIVER_VERSION_H

#define NETC_VERSION "0.1.0"

#endif // NETC_DRIVER_VERSION_H
