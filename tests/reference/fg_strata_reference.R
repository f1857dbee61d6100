# Stratified Fine-Gray reference: finegray() (censoring KM per stratum) + coxph with strata.
#
#   Rscript tests/reference/fg_strata_reference.R
#
# Reads coxph_input.csv (continuous times, where finegray and crr agree), writes
# tests/reference/fg_strata.csv (17 significant digits).
suppressPackageStartupMessages(library(survival))
here <- local({
  a <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", a[grep("^--file=", a)])
  if (length(f)) dirname(normalizePath(f)) else "tests/reference"
})
d <- read.csv(file.path(here, "coxph_input.csv"), stringsAsFactors = FALSE)
d$grade <- factor(d$grade)
d$ev <- factor(d$event, levels = 0:2)
fgd <- finegray(Surv(duration, ev) ~ grade + x1 + x2 + strata(s) + id, data = d, etype = "1")
fgd$s <- d$s[match(fgd$id, d$id)]  # finegray drops the strata column
fit <- coxph(Surv(fgstart, fgstop, fgstatus) ~ grade + x1 + x2 + strata(s), data = fgd,
             weights = fgwt, cluster = id, ties = "breslow")
nm <- names(coef(fit))
nm[startsWith(nm, "grade")] <- paste0("grade=", substring(nm[startsWith(nm, "grade")], 6))
out <- data.frame(term = nm, coef = unname(coef(fit)), se = sqrt(diag(fit$var)),
                  se_naive = sqrt(diag(fit$naive.var)))
num <- vapply(out, is.numeric, logical(1))
out[num] <- lapply(out[num], function(v) trimws(formatC(v, digits = 17, format = "g")))
write.csv(out, file.path(here, "fg_strata.csv"), row.names = FALSE, quote = TRUE)
