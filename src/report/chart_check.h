// What a chart must hold before it is drawn: series that match their categories or x values,
// colors gnuplot understands, a sensible size. Problems are thrown as aded::Error naming the
// panel and the series.
#pragma once

#include "aded/plot.h"

namespace aded::report {

void check_chart(const Chart& chart);

}  // namespace aded::report
