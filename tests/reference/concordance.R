# Reference values of survival::concordance for tests/test_survival_models_concordance.py.
# Input: concordance_input.csv (written by make_concordance_input.py).
# Run from tests/reference/:  Rscript concordance.R
# Output: concordance_ref.csv — one row per case: the concordance, its standard error
# (sqrt of R's infinitesimal-jackknife variance `var`) and the pair counts.
suppressPackageStartupMessages(library(survival))
d <- read.csv("concordance_input.csv", stringsAsFactors = FALSE)
rows <- list()
add <- function(case, fit, conc = fit$concordance, var = fit$var, count = fit$count) {
  if (is.matrix(count)) count <- colSums(count)  # one row per stratum: pooled
  rows[[length(rows) + 1]] <<- data.frame(
    case = case, concordance = conc, std = sqrt(var),
    concordant = count[["concordant"]], discordant = count[["discordant"]],
    tied_x = count[["tied.x"]], tied_y = count[["tied.y"]], tied_xy = count[["tied.xy"]]
  )
}
one <- function(name) d[d$case == name, ]
x <- one("continuous"); add("continuous", concordance(Surv(time, status) ~ score, data = x))
x <- one("continuous"); add("continuous_reverse",
                            concordance(Surv(time, status) ~ score, data = x, reverse = TRUE))
x <- one("ties"); add("ties", concordance(Surv(time, status) ~ score, data = x))
x <- one("weighted"); add("weighted", concordance(Surv(time, status) ~ score, data = x,
                                                  weights = weight))
x <- one("strata"); add("strata", concordance(Surv(time, status) ~ score + strata(stratum),
                                              data = x))
x <- one("counting"); add("counting", concordance(Surv(start, time, status) ~ score, data = x))
add("counting_cluster", concordance(Surv(start, time, status) ~ score, data = x, cluster = id))
x <- one("ties"); add("ties_reverse", concordance(Surv(time, status) ~ score, data = x,
                                                  reverse = TRUE))
x <- one("cox")
fit <- coxph(Surv(time, status) ~ x1 + x2, data = x)
cc <- fit$concordance
add("cox", NULL, conc = cc[["concordance"]], var = cc[["std"]]^2,
    count = c(concordant = cc[["concordant"]], discordant = cc[["discordant"]],
              tied.x = cc[["tied.x"]], tied.y = cc[["tied.y"]], tied.xy = cc[["tied.xy"]]))
aft <- survreg(Surv(time, status) ~ x1 + x2, data = x, dist = "weibull")
add("weibull_aft", concordance(aft))
out <- do.call(rbind, rows)
write.csv(out, "concordance_ref.csv", row.names = FALSE)
writeLines(c(R.version.string, paste("survival", packageVersion("survival"))),
           "concordance_versions.txt")
