# Reference values for tests/test_outcomes.py from R's survival package and a direct
# maximum-likelihood fit of the Weibull mixture cure model (optim; no cure package).
#
# Run from the repository root:  Rscript tests/reference/funnels.R
# Reads tests/reference/funnels_input.csv (make_funnels_input.py) and writes
# tests/reference/funnels_cif.csv and tests/reference/funnels_cure.csv.
# Durations are computed here from the timestamps (UTC), exact or rounded with
# floor() / ceiling() of difftime(..., units = "days").
suppressPackageStartupMessages(library(survival))
here <- "tests/reference"
num <- function(x) sprintf("%.17g", x)
d <- read.csv(file.path(here, "funnels_input.csv"), stringsAsFactors = FALSE)
start <- as.POSIXct(d$start, tz = "UTC", format = "%Y-%m-%d %H:%M:%S")
end <- as.POSIXct(d$end, tz = "UTC", format = "%Y-%m-%d %H:%M:%S")
exact <- as.numeric(difftime(end, start, units = "days"))
durations <- list(exact = exact, floor = floor(exact), ceil = ceiling(exact))

cif_rows <- list()
for (shape in unique(d$shape)) {
  sel <- d$shape == shape
  for (rounding in names(durations)) {
    t <- durations[[rounding]][sel]
    ev <- d$event[sel]
    fit <- survfit(Surv(t, factor(ev, levels = sort(unique(c(0, ev))))) ~ 1)
    for (h in c(30, 90)) {
      s <- summary(fit, times = h)
      states <- fit$states
      for (k in seq_along(states)) {
        if (states[k] == "(s0)") next
        cif_rows[[length(cif_rows) + 1]] <- data.frame(
          shape = shape, rounding = rounding, horizon = h, event = as.integer(states[k]),
          cif = num(s$pstate[1, k]), lower = num(s$lower[1, k]), upper = num(s$upper[1, k]),
          n_zero = sum(t == 0 & ev > 0)
        )
      }
    }
  }
}
write.csv(do.call(rbind, cif_rows), file.path(here, "funnels_cif.csv"), row.names = FALSE,
          quote = FALSE)

# Weibull mixture cure: S(t) = p + (1 - p) exp(-(t / lambda)^rho); event 1, others censored;
# event durations of 0 are placed at zero_time = 0.5 (qualmodel's documented default).
cure_fit <- function(t, delta) {
  nll <- function(th) {
    p <- plogis(th[1]); lam <- exp(th[2]); rho <- exp(th[3])
    su <- exp(-(t / lam)^rho)
    logf <- log(rho / lam) + (rho - 1) * log(t / lam) - (t / lam)^rho
    -sum(delta * (log1p(-p) + logf) + (1 - delta) * log(p + (1 - p) * su))
  }
  init <- c(qlogis(0.5), log(median(t[delta == 1])), 0)
  o <- optim(init, nll, method = "BFGS", control = list(reltol = 1e-14, maxit = 1000))
  o <- optim(o$par, nll, method = "Nelder-Mead", control = list(reltol = 1e-15, maxit = 5000))
  o <- optim(o$par, nll, method = "BFGS", control = list(reltol = 1e-15, maxit = 1000))
  c(cured_fraction = plogis(o$par[1]), scale = exp(o$par[2]), shape = exp(o$par[3]),
    log_likelihood = -o$value)
}
cure_rows <- list()
for (shape in unique(d$shape)) {
  sel <- d$shape == shape
  for (rounding in c("exact", "floor")) {
    t <- durations[[rounding]][sel]
    delta <- as.numeric(d$event[sel] == 1)
    n_zero <- sum(t <= 0 & delta == 1)
    t[t <= 0 & delta == 1] <- 0.5
    t[t <= 0] <- 1e-9
    est <- cure_fit(t, delta)
    cure_rows[[length(cure_rows) + 1]] <- data.frame(
      shape = shape, rounding = rounding, n_zero = n_zero,
      cured_fraction = num(est[["cured_fraction"]]), scale = num(est[["scale"]]),
      shape_k = num(est[["shape"]]), log_likelihood = num(est[["log_likelihood"]])
    )
  }
}
write.csv(do.call(rbind, cure_rows), file.path(here, "funnels_cure.csv"), row.names = FALSE,
          quote = FALSE)
writeLines(c(R.version.string, paste("survival", packageVersion("survival"))),
           file.path(here, "funnels_versions.txt"))
