# Reference values from R's survival and cmprsk packages for tests/test_survival.py.
#
# Run from the repository root:
#   Rscript tests/reference/make_reference.R ../shared/data/maven_crm/sales_pipeline.csv
# Writes tests/reference/{sim,maven}_{km,cif,cuminc,logrank,rmst,median,cox}.csv and
# versions.txt. The Maven data itself is read from the shared folder and never written here.
suppressPackageStartupMessages({
  library(survival)
  library(cmprsk)
})

args <- commandArgs(trailingOnly = TRUE)
maven_path <- if (length(args) >= 1) args[1] else "../shared/data/maven_crm/sales_pipeline.csv"
here <- "tests/reference"

num <- function(x) ifelse(is.na(x) & !is.nan(x), "NA", sprintf("%.17g", x))

write_ref <- function(df, name) {
  for (col in names(df)) if (is.numeric(df[[col]])) df[[col]] <- num(df[[col]])
  write.csv(df, file.path(here, name), row.names = FALSE, quote = FALSE)
}

strata_of <- function(fit) {
  if (is.null(fit$strata)) rep("all", length(fit$time))
  else sub("^group=", "", rep(names(fit$strata), fit$strata))
}

km_table <- function(d) {
  out <- NULL
  for (ct in c("log", "log-log", "plain")) {
    for (grouped in c(FALSE, TRUE)) {
      f <- if (grouped) survfit(Surv(duration, event == 1) ~ group, data = d, conf.type = ct)
           else survfit(Surv(duration, event == 1) ~ 1, data = d, conf.type = ct)
      out <- rbind(out, data.frame(
        conf_type = ct, group = strata_of(f), time = f$time, n_risk = f$n.risk,
        n_event = f$n.event, n_censor = f$n.censor, surv = f$surv,
        std_err_log = f$std.err, se_surv = f$std.err * f$surv,
        lower = f$lower, upper = f$upper))
    }
  }
  out
}

cif_table <- function(d) {
  out <- NULL
  d$status <- factor(d$event, levels = 0:2, labels = c("censor", "target", "competing"))
  for (grouped in c(FALSE, TRUE)) {
    f <- if (grouped) survfit(Surv(duration, status) ~ group, data = d)
         else survfit(Surv(duration, status) ~ 1, data = d)
    g <- strata_of(f)
    for (k in 1:2) {
      st <- c("target", "competing")[k]
      j <- match(st, f$states)
      out <- rbind(out, data.frame(
        group = g, event = k, time = f$time, n_risk = f$n.risk[, 1],
        n_event = f$n.event[, j], cif = f$pstate[, j], std_err = f$std.err[, j],
        lower = f$lower[, j], upper = f$upper[, j]))
    }
  }
  out
}

cuminc_table <- function(d) {
  ci <- cuminc(d$duration, d$event, cencode = 0)
  out <- NULL
  for (nm in names(ci)[names(ci) != "Tests"]) {
    e <- ci[[nm]]
    out <- rbind(out, data.frame(curve = nm, time = e$time, est = e$est, var = e$var))
  }
  out
}

logrank_table <- function(d) {
  rows <- list()
  ab <- d[d$group %in% sort(unique(d$group))[1:2], ]
  for (k in 1:2) {
    s <- survdiff(Surv(duration, event == k) ~ group, data = d)
    rows[[length(rows) + 1]] <- data.frame(groups = "all", event = k, statistic = s$chisq,
                                           df = length(s$n) - 1)
    s2 <- survdiff(Surv(duration, event == k) ~ group, data = ab)
    rows[[length(rows) + 1]] <- data.frame(groups = "first_two", event = k,
                                           statistic = s2$chisq, df = 1)
  }
  do.call(rbind, rows)
}

rmst_table <- function(d, taus) {
  out <- NULL
  for (tau in taus) {
    f0 <- survfit(Surv(duration, event == 1) ~ 1, data = d)
    t0 <- summary(f0, rmean = tau)$table
    f1 <- survfit(Surv(duration, event == 1) ~ group, data = d)
    t1 <- summary(f1, rmean = tau)$table
    out <- rbind(out,
      data.frame(group = "all", tau = tau, rmean = t0[["rmean"]], se = t0[["se(rmean)"]]),
      data.frame(group = sub("^group=", "", rownames(t1)), tau = tau,
                 rmean = t1[, "rmean"], se = t1[, "se(rmean)"]))
  }
  out
}

median_table <- function(d) {
  out <- NULL
  for (ct in c("log", "log-log")) {
    f0 <- survfit(Surv(duration, event == 1) ~ 1, data = d, conf.type = ct)
    t0 <- summary(f0)$table
    f1 <- survfit(Surv(duration, event == 1) ~ group, data = d, conf.type = ct)
    t1 <- summary(f1)$table
    out <- rbind(out,
      data.frame(conf_type = ct, group = "all", median = t0[["median"]],
                 lower = t0[["0.95LCL"]], upper = t0[["0.95UCL"]]),
      data.frame(conf_type = ct, group = sub("^group=", "", rownames(t1)),
                 median = t1[, "median"], lower = t1[, "0.95LCL"], upper = t1[, "0.95UCL"]))
  }
  out
}

run <- function(d, prefix, taus) {
  write_ref(km_table(d), paste0(prefix, "_km.csv"))
  write_ref(cif_table(d), paste0(prefix, "_cif.csv"))
  write_ref(cuminc_table(d), paste0(prefix, "_cuminc.csv"))
  write_ref(logrank_table(d), paste0(prefix, "_logrank.csv"))
  write_ref(rmst_table(d, taus), paste0(prefix, "_rmst.csv"))
  write_ref(median_table(d), paste0(prefix, "_median.csv"))
}

# (a) simulated data with day ties and three groups
sim <- read.csv(file.path(here, "sim_input.csv"), stringsAsFactors = FALSE)
run(sim, "sim", c(60, 120, 183))

# (b) Maven CRM pipeline: engage_date -> close_date in days; Won = 1, Lost = 2;
# Engaging censored at 2017-12-31; Prospecting (no engage date) excluded; group = product.
mv <- read.csv(maven_path, stringsAsFactors = FALSE)
mv <- mv[mv$engage_date != "" & !is.na(mv$engage_date), ]
engage <- as.Date(mv$engage_date)
close <- as.Date(ifelse(mv$close_date == "" | is.na(mv$close_date), "2017-12-31", mv$close_date))
maven <- data.frame(
  id = mv$opportunity_id, group = mv$product,
  duration = as.numeric(close - engage),
  event = ifelse(mv$deal_stage == "Won", 1L, ifelse(mv$deal_stage == "Lost", 2L, 0L)),
  stringsAsFactors = FALSE)
run(maven, "maven", c(60, 120))

writeLines(c(R.version.string,
             paste("survival", as.character(packageVersion("survival"))),
             paste("cmprsk", as.character(packageVersion("cmprsk")))),
           file.path(here, "versions.txt"))

# Cox models (Efron ties): cause-specific hazard of event 1 on group (+ x for sim)
cox_table <- function(d, formula) {
  fit <- coxph(formula, data = d, ties = "efron")
  s <- summary(fit)$coefficients
  data.frame(term = rownames(s), coef = s[, "coef"], se = s[, "se(coef)"],
             p_value = s[, "Pr(>|z|)"], loglik = fit$loglik[2])
}
sim$x <- ((sim$id * 37) %% 11) / 5
write_ref(cox_table(sim, Surv(duration, event == 1) ~ group + x), "sim_cox.csv")
write_ref(cox_table(maven, Surv(duration, event == 1) ~ group), "maven_cox.csv")
