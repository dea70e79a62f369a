"""console.engine"""
