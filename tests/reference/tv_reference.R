# Reference values for Cox on counting-process (start, stop] rows: time-varying touchpoints.
#
#   .venv/bin/python tests/reference/make_tv_input.py
#   Rscript tests/reference/tv_reference.R
#
# Writes tests/reference/tv_coef.csv (17 significant digits).
suppressPackageStartupMessages(library(survival))
here <- local({
  a <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", a[grep("^--file=", a)])
  if (length(f)) dirname(normalizePath(f)) else "tests/reference"
})
tv <- read.csv(file.path(here, "tv_input.csv"), stringsAsFactors = FALSE)
f <- Surv(start, duration, event == 1) ~ webinar_attended + fit
fits <- list(
  efron = coxph(f, data = tv, ties = "efron"),
  breslow = coxph(f, data = tv, ties = "breslow"),
  cluster = coxph(f, data = tv, ties = "efron", cluster = lead_id),
  event2 = coxph(Surv(start, duration, event == 2) ~ webinar_attended + fit, data = tv)
)
rows <- list()
for (m in names(fits)) {
  fit <- fits[[m]]
  naive <- if (is.null(fit$naive.var)) fit$var else fit$naive.var
  rows[[m]] <- data.frame(model = m, term = names(coef(fit)), coef = unname(coef(fit)),
                          se = sqrt(diag(fit$var)), se_naive = sqrt(diag(naive)),
                          loglik_null = fit$loglik[1], loglik = fit$loglik[2], iter = fit$iter)
}
out <- do.call(rbind, rows)
num <- vapply(out, is.numeric, logical(1))
out[num] <- lapply(out[num], function(v) trimws(formatC(v, digits = 17, format = "g")))
write.csv(out, file.path(here, "tv_coef.csv"), row.names = FALSE, quote = TRUE)
